package org.jvmm.sandbox.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.jvmm.sandbox.vhost.VhostUserCodec;
import org.jvmm.sandbox.vhost.VhostUserPayload;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;
import org.jvmm.sandbox.vhost.VhostUserProtocolException;
import org.jvmm.sandbox.vhost.VhostUserRequest;

/**
 * The front-end's reply parser against hostile back-ends: any bytes at all end in a valid reply or a
 * {@link VhostUserProtocolException}, never another exception, and never a read past what the header
 * announced; every well-formed reply round-trips; any single-byte change to a reply's header is refused.
 */
class VhostUserRepliesProperties {

    /** Bytes as a socket would deliver them; running out is the peer closing. */
    private static final class Bytes implements VhostUserReplies.Source {
        final byte[] data;
        int at;

        Bytes(byte[] data) {
            this.data = data;
        }

        @Override
        public void readFully(byte[] buffer) throws VhostUserProtocolException {
            if (data.length - at < buffer.length) throw new VhostUserProtocolException("the back-end closed the connection");
            System.arraycopy(data, at, buffer, 0, buffer.length);
            at += buffer.length;
        }
    }

    @Provide
    Arbitrary<VhostUserRequest> replying() {
        return Arbitraries.of(VhostUserRequest.GET_FEATURES, VhostUserRequest.GET_PROTOCOL_FEATURES,
                VhostUserRequest.GET_QUEUE_NUM, VhostUserRequest.GET_VRING_BASE, VhostUserRequest.GET_CONFIG);
    }

    @Property(tries = 2000)
    void arbitraryBytesAreAReplyOrAProtocolErrorOnly(@ForAll("replying") VhostUserRequest request,
                                                     @ForAll @Size(max = 300) byte[] bytes,
                                                     @ForAll @IntRange(max = 256) int configSize,
                                                     @ForAll boolean ack) {
        Bytes source = new Bytes(bytes);
        try {
            VhostUserReplies.read(source, request, configSize, ack);
        } catch (VhostUserProtocolException expected) {
            // refused, as it should be
        }
    }

    @Property(tries = 2000)
    void randomHeadersWithPlausibleCodesAreReplyOrProtocolError(@ForAll("replying") VhostUserRequest request,
                                                                @ForAll @IntRange(max = 40) int code,
                                                                @ForAll @IntRange(max = 15) int flags,
                                                                @ForAll @IntRange(max = 300) int size,
                                                                @ForAll @Size(max = 300) byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(12 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(code).putInt(flags).putInt(size).put(body);
        Bytes source = new Bytes(b.array());
        try {
            VhostUserReplies.read(source, request, 60, false);
            assertEquals(12 + size, source.at, "an accepted reply consumed exactly its announced size");
        } catch (VhostUserProtocolException expected) {
            // refused
        }
    }

    @Property
    void wellFormedRepliesRoundTrip(@ForAll long value, @ForAll @IntRange(max = 255) int index,
                                    @ForAll @IntRange(max = 0xffff) int base, @ForAll @Size(max = 256) byte[] config)
            throws Exception {
        assertEquals(new U64(value), read(VhostUserRequest.GET_FEATURES, new U64(value), 0));
        assertEquals(new VringState(index, base), read(VhostUserRequest.GET_VRING_BASE, new VringState(index, base), 0));
        Config c = assertInstanceOf(Config.class, read(VhostUserRequest.GET_CONFIG, new Config(0, 0, config), config.length));
        assertArrayEquals(config, c.data());
    }

    @Property(tries = 2000)
    void anyChangeToTheHeaderIsRefused(@ForAll("replying") VhostUserRequest request, @ForAll @IntRange(max = 11) int at,
                                       @ForAll byte delta) {
        if (delta == 0) return;
        VhostUserPayload payload = switch (request) {
            case GET_VRING_BASE -> new VringState(0, 0);
            case GET_CONFIG -> new Config(0, 0, new byte[12]);
            default -> new U64(0);
        };
        byte[] reply = VhostUserCodec.reply(request, payload);
        reply[at] += delta;
        try {
            VhostUserReplies.read(new Bytes(reply), request, 12, false);
            throw new AssertionError("a reply with header byte " + at + " changed was accepted");
        } catch (VhostUserProtocolException expected) {
            // refused
        }
    }

    private static VhostUserPayload read(VhostUserRequest request, VhostUserPayload payload, int configSize) throws Exception {
        return VhostUserReplies.read(new Bytes(VhostUserCodec.reply(request, payload)), request, configSize, false);
    }
}
