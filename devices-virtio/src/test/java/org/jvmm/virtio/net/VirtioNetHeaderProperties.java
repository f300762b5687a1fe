package org.jvmm.virtio.net;

import static org.junit.jupiter.api.Assertions.*;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.jvmm.virtio.VirtioFeatures;

/** Hostile transmit headers: the parser accepts only what §5.1.6.2 and the negotiated features allow. */
class VirtioNetHeaderProperties {

    @Property(tries = 10_000)
    void acceptedHeadersAskOnlyForNegotiatedOffloadsInsideTheFrame(@ForAll @Size(12) byte[] bytes,
            @ForAll @LongRange(min = 0, max = 70_000) long frameLength, @ForAll long negotiated) {
        VirtioNetHeader h;
        try {
            h = VirtioNetHeader.parseTransmit(bytes, frameLength, negotiated);
        } catch (NetHeaderException e) {
            return; // refusing is always allowed; accepting is what must be justified
        }
        assertTrue(frameLength >= VirtioNetHeader.MIN_FRAME && frameLength <= VirtioNetHeader.MAX_FRAME);
        assertEquals(0, h.flags() & ~VirtioNetHeader.F_NEEDS_CSUM);
        if (h.flags() != 0) {
            assertTrue(VirtioFeatures.has(negotiated, NetFeatures.CSUM));
            assertTrue(h.csumStart() + h.csumOffset() + 2 <= frameLength);
        }
        switch (h.gsoType()) {
            case VirtioNetHeader.GSO_NONE -> {}
            case VirtioNetHeader.GSO_TCPV4, VirtioNetHeader.GSO_TCPV6 -> {
                assertTrue(VirtioFeatures.has(negotiated,
                        h.gsoType() == VirtioNetHeader.GSO_TCPV4 ? NetFeatures.HOST_TSO4 : NetFeatures.HOST_TSO6));
                assertEquals(VirtioNetHeader.F_NEEDS_CSUM, h.flags());
                assertTrue(h.gsoSize() > 0 && h.hdrLen() <= frameLength);
            }
            default -> fail("gso_type " + h.gsoType() + " accepted");
        }
        assertEquals(0, h.numBuffers());
    }

    @Property(tries = 10_000)
    void withoutOffloadsOnlyPlainHeadersPass(@ForAll @Size(12) byte[] bytes, @ForAll @LongRange(min = 0, max = 70_000) long frameLength) {
        long noOffloads = VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(NetFeatures.MAC);
        try {
            assertTrue(VirtioNetHeader.parseTransmit(bytes, frameLength, noOffloads).isPlain());
        } catch (NetHeaderException e) {
            // refused: fine
        }
    }

    @Property(tries = 10_000)
    void encodeThenDecodeIsTheIdentity(@ForAll @Size(12) byte[] bytes) {
        assertArrayEquals(bytes, VirtioNetHeader.decode(bytes).encode());
    }

    @Property(tries = 10_000)
    void shortHeadersAreRefusedNotThrown(@ForAll @Size(max = 11) byte[] bytes, @ForAll long frameLength, @ForAll long negotiated) {
        assertThrows(NetHeaderException.class, () -> VirtioNetHeader.parseTransmit(bytes, frameLength, negotiated));
    }
}
