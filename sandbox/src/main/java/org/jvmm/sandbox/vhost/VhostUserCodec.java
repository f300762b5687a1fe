package org.jvmm.sandbox.vhost;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.Empty;
import org.jvmm.sandbox.vhost.VhostUserPayload.MemoryTable;
import org.jvmm.sandbox.vhost.VhostUserPayload.Region;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringAddress;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringFile;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;

/**
 * Reads front-end messages from a {@link Wire} and encodes the back-end's replies (QEMU
 * docs/interop/vhost-user.rst, "Message Specification"): a 12-byte little-endian header
 * {@code request u32, flags u32, size u32} followed by {@code size} bytes of payload, descriptors
 * attached to the header's bytes.
 *
 * <p>The peer is untrusted: the header's size is checked against the request's exact payload size
 * before anything is allocated (so no message can make us allocate more than {@link #MAX_PAYLOAD}
 * bytes), reserved flag and payload bits must be zero, and each request must come with exactly the
 * descriptors its payload implies. Every violation is a {@link VhostUserProtocolException}; descriptors
 * of a rejected message are closed, so none leak.
 */
public final class VhostUserCodec {

    /** Header size in bytes. */
    public static final int HEADER_SIZE = 12;
    /** Flags bits 0-1: the protocol version, always 1. */
    public static final int VERSION = 0x1;
    /** Flags bit 2: this message is a reply. */
    public static final int FLAG_REPLY = 0x4;
    /** Flags bit 3: the front-end wants a REPLY_ACK status. */
    public static final int FLAG_NEED_REPLY = 0x8;
    /** VHOST_MEMORY_BASELINE_NREGIONS: regions in SET_MEM_TABLE (and descriptors in any message) without CONFIGURE_MEM_SLOTS. */
    public static final int MAX_REGIONS = 8;
    /** VHOST_USER_MAX_CONFIG_SIZE: the largest configuration window. */
    public static final int MAX_CONFIG_SIZE = 256;
    /** The largest payload any request we accept can have (SET_MEM_TABLE with 8 regions is 264 bytes). */
    public static final int MAX_PAYLOAD = 12 + MAX_CONFIG_SIZE;
    /** SET_VRING_KICK/CALL/ERR: bits 0-7 the ring index, bit 8 "no descriptor". */
    public static final long VRING_INDEX_MASK = 0xff, VRING_NOFD = 0x100;

    private static final int REGION_SIZE = 32;
    private static final int CONFIG_HEADER = 12;

    private VhostUserCodec() {}

    /**
     * Reads one message, or returns empty if the peer closed the connection cleanly between messages.
     *
     * @param maxRegions the largest memory table accepted (at most {@link #MAX_REGIONS})
     * @throws VhostUserProtocolException if the bytes or descriptors break the protocol; all descriptors
     *         received for the message have been closed
     */
    public static Optional<VhostUserMessage> read(Wire wire, int maxRegions) throws VhostUserProtocolException {
        List<Integer> fds = new ArrayList<>();
        boolean ok = false;
        try {
            byte[] header = new byte[HEADER_SIZE];
            // Descriptors travel with the first bytes of a message; any that came later would be a violation.
            if (!fill(wire, header, fds, true)) {
                ok = true;
                return Optional.empty();
            }
            ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
            long code = Integer.toUnsignedLong(h.getInt(0));
            int flags = h.getInt(4);
            long size = Integer.toUnsignedLong(h.getInt(8));
            VhostUserRequest request = VhostUserRequest.of(code)
                    .orElseThrow(() -> new VhostUserProtocolException("unknown or unsupported request " + code));
            if ((flags & 0x3) != VERSION) {
                throw new VhostUserProtocolException(request + ": protocol version " + (flags & 0x3) + " (only 1 is spoken)");
            }
            if ((flags & ~(0x3 | FLAG_NEED_REPLY)) != 0) {
                throw new VhostUserProtocolException(request + ": reserved or reply flags set in 0x" + Integer.toHexString(flags));
            }
            checkSize(request, size, maxRegions);
            byte[] body = new byte[(int) size];
            if (size > 0 && !fill(wire, body, fds, false)) {
                throw new VhostUserProtocolException(request + ": connection closed inside the payload");
            }
            int[] fdArray = fds.stream().mapToInt(Integer::intValue).toArray();
            VhostUserMessage m = new VhostUserMessage(request, flags, decode(request, body, fdArray.length, maxRegions), fdArray);
            ok = true;
            return Optional.of(m);
        } finally {
            if (!ok) for (int fd : fds) wire.closeFd(fd);
        }
    }

    /** Reads exactly {@code buffer.length} bytes; false on EOF before the first byte (only allowed at a header). */
    private static boolean fill(Wire wire, byte[] buffer, List<Integer> fds, boolean header) throws VhostUserProtocolException {
        int got = 0;
        while (got < buffer.length) {
            boolean first = header && got == 0;
            Wire.Chunk c = wire.receive(buffer.length - got, first ? MAX_REGIONS : 0);
            for (int fd : c.fds()) fds.add(fd);
            if (!first && c.fds().length > 0) {
                throw new VhostUserProtocolException("descriptors arrived after the start of a message");
            }
            if (c.data().length == 0) {
                if (first) return false;
                throw new VhostUserProtocolException("connection closed inside a message");
            }
            if (c.data().length > buffer.length - got) {
                throw new VhostUserProtocolException("the wire returned more bytes than asked for");
            }
            System.arraycopy(c.data(), 0, buffer, got, c.data().length);
            got += c.data().length;
        }
        return true;
    }

    /** The payload size each request must have, checked before the payload is read. */
    private static void checkSize(VhostUserRequest request, long size, int maxRegions) throws VhostUserProtocolException {
        boolean ok = switch (request) {
            case GET_FEATURES, GET_PROTOCOL_FEATURES, SET_OWNER, RESET_OWNER, RESET_DEVICE, GET_QUEUE_NUM -> size == 0;
            case SET_FEATURES, SET_PROTOCOL_FEATURES, SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE,
                 SET_VRING_ENABLE, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR -> size == 8;
            case SET_VRING_ADDR -> size == 40;
            case SET_MEM_TABLE -> size >= 8 + REGION_SIZE && size <= 8 + (long) REGION_SIZE * maxRegions
                    && (size - 8) % REGION_SIZE == 0;
            case GET_CONFIG, SET_CONFIG -> size >= CONFIG_HEADER && size <= CONFIG_HEADER + MAX_CONFIG_SIZE;
        };
        if (!ok) throw new VhostUserProtocolException(request + ": payload size " + size + " is invalid for this request");
    }

    /** Decodes a payload whose size {@link #checkSize} accepted, checking the descriptor count. */
    static VhostUserPayload decode(VhostUserRequest request, byte[] body, int fdCount, int maxRegions)
            throws VhostUserProtocolException {
        checkSize(request, body.length, maxRegions);
        ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
        int wantFds = 0;
        VhostUserPayload payload = switch (request) {
            case GET_FEATURES, GET_PROTOCOL_FEATURES, SET_OWNER, RESET_OWNER, RESET_DEVICE, GET_QUEUE_NUM -> new Empty();
            case SET_FEATURES, SET_PROTOCOL_FEATURES -> new U64(b.getLong(0));
            case SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE ->
                    new VringState(b.getInt(0), Integer.toUnsignedLong(b.getInt(4)));
            case SET_VRING_ADDR -> new VringAddress(b.getInt(0), b.getInt(4), b.getLong(8), b.getLong(16), b.getLong(24), b.getLong(32));
            case SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR -> {
                long v = b.getLong(0);
                if ((v & ~(VRING_INDEX_MASK | VRING_NOFD)) != 0) {
                    throw new VhostUserProtocolException(request + ": reserved bits set in 0x" + Long.toHexString(v));
                }
                boolean noFd = (v & VRING_NOFD) != 0;
                wantFds = noFd ? 0 : 1;
                yield new VringFile((int) (v & VRING_INDEX_MASK), noFd);
            }
            case SET_MEM_TABLE -> {
                long count = Integer.toUnsignedLong(b.getInt(0));
                if (count != (body.length - 8) / REGION_SIZE) {
                    throw new VhostUserProtocolException(request + ": " + count + " regions announced but "
                            + (body.length - 8) / REGION_SIZE + " sent");
                }
                List<Region> regions = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    int o = 8 + i * REGION_SIZE;
                    regions.add(new Region(b.getLong(o), b.getLong(o + 8), b.getLong(o + 16), b.getLong(o + 24)));
                }
                wantFds = (int) count;
                yield new MemoryTable(regions);
            }
            case GET_CONFIG, SET_CONFIG -> {
                int offset = b.getInt(0);
                long size = Integer.toUnsignedLong(b.getInt(4));
                int flags = b.getInt(8);
                if (size != body.length - CONFIG_HEADER) {
                    throw new VhostUserProtocolException(request + ": config size " + size + " does not match the payload");
                }
                if (offset < 0 || offset + size > MAX_CONFIG_SIZE) {
                    throw new VhostUserProtocolException(request + ": config window at " + Integer.toUnsignedString(offset)
                            + " of " + size + " bytes is outside the " + MAX_CONFIG_SIZE + "-byte space");
                }
                byte[] data = new byte[(int) size];
                b.get(CONFIG_HEADER, data);
                yield new Config(offset, flags, data);
            }
        };
        if (fdCount != wantFds) {
            throw new VhostUserProtocolException(request + ": " + fdCount + " descriptors attached, " + wantFds + " expected");
        }
        return payload;
    }

    /** A reply to {@code request} carrying {@code payload} (REPLY flag set, version 1). */
    public static byte[] reply(VhostUserRequest request, VhostUserPayload payload) {
        byte[] body = encode(payload);
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(request.code()).putInt(VERSION | FLAG_REPLY).putInt(body.length).put(body);
        return b.array();
    }

    /**
     * A front-end message (for tests and a future front-end): header with {@code flags} and the encoded
     * payload. Descriptors are sent alongside by the caller.
     */
    public static byte[] request(VhostUserRequest request, int flags, VhostUserPayload payload) {
        byte[] body = encode(payload);
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(request.code()).putInt(flags).putInt(body.length).put(body);
        return b.array();
    }

    /** The wire form of {@code payload}. */
    public static byte[] encode(VhostUserPayload payload) {
        return switch (payload) {
            case Empty e -> new byte[0];
            case U64 u -> le(8).putLong(u.value()).array();
            case VringState s -> le(8).putInt(s.index()).putInt((int) s.num()).array();
            case VringAddress a -> le(40).putInt(a.index()).putInt(a.flags()).putLong(a.descriptorTable())
                    .putLong(a.usedRing()).putLong(a.availableRing()).putLong(a.log()).array();
            case VringFile f -> le(8).putLong((f.index() & VRING_INDEX_MASK) | (f.noFd() ? VRING_NOFD : 0)).array();
            case MemoryTable t -> {
                ByteBuffer b = le(8 + REGION_SIZE * t.regions().size()).putInt(t.regions().size()).putInt(0);
                for (Region r : t.regions()) b.putLong(r.guestAddress()).putLong(r.size()).putLong(r.userAddress()).putLong(r.mmapOffset());
                yield b.array();
            }
            case Config c -> le(CONFIG_HEADER + c.data().length).putInt(c.offset()).putInt(c.data().length)
                    .putInt(c.flags()).put(c.data()).array();
        };
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
