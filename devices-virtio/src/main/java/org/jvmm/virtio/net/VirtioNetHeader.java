package org.jvmm.virtio.net;

import org.jvmm.virtio.VirtioFeatures;

/**
 * {@code struct virtio_net_hdr} (virtio 1.2 §5.1.6): the 12 bytes before every frame on both queues. With
 * VIRTIO_F_VERSION_1 the header always has {@code num_buffers}, so it is 12 bytes whatever else was
 * negotiated; the Linux TAP device is set to the same size, so one header passes through unchanged.
 *
 * @param flags      {@link #F_NEEDS_CSUM}, {@link #F_DATA_VALID}
 * @param gsoType    {@link #GSO_NONE}, {@link #GSO_TCPV4}, {@link #GSO_TCPV6} (UDP and ECN are not offered)
 * @param hdrLen     the length of the headers to copy into each segment
 * @param gsoSize    the payload size of each segment
 * @param csumStart  where checksumming starts (from the frame's first byte)
 * @param csumOffset where, after csumStart, the checksum goes
 * @param numBuffers how many receive buffers the frame fills (always 1: MRG_RXBUF is not offered)
 */
public record VirtioNetHeader(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset, int numBuffers) {

    /** The header's size in bytes. */
    public static final int SIZE = 12;
    public static final int F_NEEDS_CSUM = 1, F_DATA_VALID = 2;
    public static final int GSO_NONE = 0, GSO_TCPV4 = 1, GSO_UDP = 3, GSO_TCPV6 = 4, GSO_ECN = 0x80;
    /** The smallest frame worth sending: an Ethernet header. */
    public static final int MIN_FRAME = 14;
    /** The largest frame: a 64 KiB segmentation-offload packet plus its Ethernet header. */
    public static final int MAX_FRAME = 65535 + 14;

    /** The header jvmm puts before a received frame that came without one: nothing to do, one buffer. */
    public static final VirtioNetHeader PLAIN_RECEIVE = new VirtioNetHeader(0, GSO_NONE, 0, 0, 0, 0, 1);

    /** Decodes the first {@link #SIZE} bytes of {@code bytes} (little-endian fields), without judging them. */
    public static VirtioNetHeader decode(byte[] bytes) {
        return new VirtioNetHeader(bytes[0] & 0xff, bytes[1] & 0xff, le16(bytes, 2), le16(bytes, 4), le16(bytes, 6),
                le16(bytes, 8), le16(bytes, 10));
    }

    /** The header as its 12 wire bytes. */
    public byte[] encode() {
        byte[] b = new byte[SIZE];
        b[0] = (byte) flags;
        b[1] = (byte) gsoType;
        put16(b, 2, hdrLen);
        put16(b, 4, gsoSize);
        put16(b, 6, csumStart);
        put16(b, 8, csumOffset);
        put16(b, 10, numBuffers);
        return b;
    }

    /**
     * Judges a header the driver put before a transmitted frame of {@code frameLength} bytes (header not
     * included), against the {@code negotiated} features: every offload it asks for must have been
     * negotiated, and every offset must lie inside the frame, so the backend (the host kernel for TAP)
     * is only ever handed frames a correct driver could have produced.
     *
     * @return the header, with {@code numBuffers} (meaningless on transmit) cleared
     * @throws NetHeaderException naming the first rule broken
     */
    public static VirtioNetHeader parseTransmit(byte[] bytes, long frameLength, long negotiated) throws NetHeaderException {
        if (bytes.length < SIZE) throw new NetHeaderException("a transmit chain shorter than the 12-byte header");
        if (frameLength < MIN_FRAME || frameLength > MAX_FRAME) {
            throw new NetHeaderException("a frame of " + frameLength + " bytes (allowed: " + MIN_FRAME + " to " + MAX_FRAME + ")");
        }
        VirtioNetHeader h = decode(bytes);
        if ((h.flags & ~F_NEEDS_CSUM) != 0) throw new NetHeaderException("transmit flags 0x" + Integer.toHexString(h.flags));
        boolean csum = (h.flags & F_NEEDS_CSUM) != 0;
        if (csum) {
            if (!VirtioFeatures.has(negotiated, NetFeatures.CSUM)) throw new NetHeaderException("NEEDS_CSUM without VIRTIO_NET_F_CSUM");
            if ((long) h.csumStart + h.csumOffset + 2 > frameLength) {
                throw new NetHeaderException("checksum at %d+%d outside a %d-byte frame".formatted(h.csumStart, h.csumOffset, frameLength));
            }
        }
        switch (h.gsoType) {
            case GSO_NONE -> {}
            case GSO_TCPV4, GSO_TCPV6 -> {
                int feature = h.gsoType == GSO_TCPV4 ? NetFeatures.HOST_TSO4 : NetFeatures.HOST_TSO6;
                if (!VirtioFeatures.has(negotiated, feature)) throw new NetHeaderException("gso_type " + h.gsoType + " not negotiated");
                // §5.1.6.2: a segmentation request always asks for the checksum too.
                if (!csum) throw new NetHeaderException("segmentation without NEEDS_CSUM");
                if (h.gsoSize == 0) throw new NetHeaderException("segmentation with gso_size 0");
                if (h.hdrLen > frameLength) throw new NetHeaderException("hdr_len " + h.hdrLen + " beyond the frame");
            }
            default -> throw new NetHeaderException("gso_type 0x" + Integer.toHexString(h.gsoType));
        }
        return new VirtioNetHeader(h.flags, h.gsoType, h.hdrLen, h.gsoSize, h.csumStart, h.csumOffset, 0);
    }

    /** Whether the header asks nothing of a backend that cannot carry offloads. */
    public boolean isPlain() {
        return flags == 0 && gsoType == GSO_NONE;
    }

    private static int le16(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
    }

    private static void put16(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }
}
