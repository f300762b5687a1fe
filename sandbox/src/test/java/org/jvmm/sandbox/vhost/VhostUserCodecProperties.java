package org.jvmm.sandbox.vhost;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Test;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.Empty;
import org.jvmm.sandbox.vhost.VhostUserPayload.MemoryTable;
import org.jvmm.sandbox.vhost.VhostUserPayload.Region;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringAddress;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringFile;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;

/**
 * Hostile-stream properties of the vhost-user codec: whatever bytes and descriptors a front-end sends,
 * reading yields validated messages, a clean end, or {@link VhostUserProtocolException} — never another
 * exception, never a leaked descriptor, never a payload buffer larger than {@link VhostUserCodec#MAX_PAYLOAD}.
 */
class VhostUserCodecProperties {

    private static final int[] CODES = VhostUserRequestCodes.ALL;

    /**
     * A stream of messages, each either well-formed (a random payload of a random kind with exactly its
     * descriptors) or corrupted: a byte of the header or body overwritten, a header of random words, the
     * wrong number of descriptors, or the message cut short. Descriptors ride on the chunk holding a
     * message's first byte (as with sendmsg), sometimes on a later chunk; chunks split the stream at
     * random, as a stream socket may.
     */
    static List<Wire.Chunk> hostileStream(long seed) {
        Random r = new Random(seed);
        List<Wire.Chunk> chunks = new ArrayList<>();
        int fdNumber = 1000;
        int messages = 1 + r.nextInt(4);
        for (int m = 0; m < messages; m++) {
            Generated g = randomMessage(r);
            byte[] bytes = g.bytes();
            int fdCount = g.fdCount();
            switch (r.nextInt(10)) {
                case 0 -> bytes[r.nextInt(Math.min(12, bytes.length))] = (byte) r.nextInt();
                case 1 -> { if (bytes.length > 12) bytes[12 + r.nextInt(bytes.length - 12)] = (byte) (r.nextBoolean() ? r.nextInt() : r.nextInt(4)); }
                case 2 -> ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(r.nextInt(3) * 4, r.nextBoolean() ? r.nextInt() : r.nextInt(400));
                case 3 -> fdCount = r.nextInt(11);
                case 4 -> bytes = java.util.Arrays.copyOf(bytes, r.nextInt(bytes.length + 1));
                default -> { }
            }
            int[] fds = new int[fdCount];
            for (int i = 0; i < fds.length; i++) fds[i] = fdNumber++;
            boolean lateFds = r.nextInt(20) == 0;
            for (int at = 0; at < bytes.length || at == 0; ) {
                int n = Math.min(bytes.length - at, 1 + r.nextInt(r.nextBoolean() ? 16 : 400));
                boolean withFds = lateFds ? at > 0 || n == bytes.length : at == 0;
                chunks.add(new Wire.Chunk(java.util.Arrays.copyOfRange(bytes, at, at + n), withFds ? fds : new int[0]));
                if (withFds) fds = new int[0];
                at += n;
                if (n == 0) break;
            }
        }
        // An empty chunk in the script is the peer closing the connection.
        return chunks.stream().filter(c -> c.data().length > 0).toList();
    }

    record Generated(VhostUserRequest request, VhostUserPayload payload, byte[] bytes, int fdCount) {}

    /** A well-formed message of a random kind, with the number of descriptors it needs. */
    static Generated randomMessage(Random r) {
        VhostUserRequest request;
        VhostUserPayload payload;
        int fdCount = 0;
        switch (r.nextInt(8)) {
            case 0 -> { request = r.nextBoolean() ? VhostUserRequest.GET_FEATURES : VhostUserRequest.SET_OWNER; payload = new Empty(); }
            case 1 -> { request = VhostUserRequest.SET_FEATURES; payload = new U64(r.nextLong()); }
            case 2 -> { request = VhostUserRequest.SET_VRING_NUM; payload = new VringState(r.nextInt(), r.nextInt() & 0xffffffffL); }
            case 3 -> { request = VhostUserRequest.SET_VRING_ADDR; payload = new VringAddress(r.nextInt(), r.nextInt(), r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong()); }
            case 4 -> {
                boolean noFd = r.nextBoolean();
                request = r.nextBoolean() ? VhostUserRequest.SET_VRING_CALL : VhostUserRequest.SET_VRING_KICK;
                payload = new VringFile(r.nextInt(256), noFd);
                fdCount = noFd ? 0 : 1;
            }
            case 5, 6 -> {
                List<Region> regions = new ArrayList<>();
                for (int i = 0, n = 1 + r.nextInt(8); i < n; i++) regions.add(new Region(r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong()));
                request = VhostUserRequest.SET_MEM_TABLE;
                payload = new MemoryTable(regions);
                fdCount = regions.size();
            }
            default -> {
                int size = r.nextInt(VhostUserCodec.MAX_CONFIG_SIZE + 1);
                int offset = r.nextInt(VhostUserCodec.MAX_CONFIG_SIZE - size + 1);
                byte[] data = new byte[size];
                r.nextBytes(data);
                request = r.nextBoolean() ? VhostUserRequest.GET_CONFIG : VhostUserRequest.SET_CONFIG;
                payload = new Config(offset, r.nextInt(), data);
            }
        }
        int flags = VhostUserCodec.VERSION | (r.nextBoolean() ? VhostUserCodec.FLAG_NEED_REPLY : 0);
        return new Generated(request, payload, VhostUserCodec.request(request, flags, payload), fdCount);
    }

    @Property(tries = 10_000)
    void hostileStreamsEndInMessagesEofOrProtocolErrorWithoutLeaks(@ForAll long seed, @ForAll @IntRange(min = 1, max = 8) int maxRegions) {
        ScriptedWire wire = new ScriptedWire(hostileStream(seed));
        List<Integer> kept = new ArrayList<>();
        int decoded = 0;
        String end = "eof";
        try {
            for (int i = 0; i < 100; i++) {
                Optional<VhostUserMessage> m = VhostUserCodec.read(wire, maxRegions);
                if (m.isEmpty()) break;
                decoded++;
                for (int fd : m.get().fds()) kept.add(fd);
                assertValid(m.get(), maxRegions);
            }
        } catch (VhostUserProtocolException expected) {
            // The protocol's own error: the connection would be closed here.
            end = "protocol error";
        }
        // Shows that the generator reaches past the header: many streams decode messages before failing.
        Statistics.label("messages decoded").collect(Math.min(decoded, 3));
        Statistics.label("end").collect(end);
        List<Integer> accounted = new ArrayList<>(kept);
        accounted.addAll(wire.closed);
        Collections.sort(accounted);
        List<Integer> handed = new ArrayList<>(wire.handedOut);
        Collections.sort(handed);
        assertEquals(handed, accounted, "every descriptor received is either in a message or closed, exactly once");
    }

    /** What a decoded message guarantees, checked independently of the decoder. */
    private static void assertValid(VhostUserMessage m, int maxRegions) {
        assertEquals(VhostUserCodec.VERSION, m.flags() & 3);
        assertEquals(0, m.flags() & ~(3 | VhostUserCodec.FLAG_NEED_REPLY));
        switch (m.payload()) {
            case MemoryTable t -> {
                assertTrue(t.regions().size() >= 1 && t.regions().size() <= maxRegions);
                assertEquals(t.regions().size(), m.fds().length);
            }
            case VringFile f -> {
                assertTrue(f.index() >= 0 && f.index() <= 255);
                assertEquals(f.noFd() ? 0 : 1, m.fds().length);
            }
            case Config c -> assertTrue(c.offset() >= 0 && c.offset() + c.data().length <= VhostUserCodec.MAX_CONFIG_SIZE);
            default -> assertEquals(0, m.fds().length);
        }
    }

    /** A size beyond any request's payload is refused after the header, before the body is read or allocated. */
    @Property(tries = 10_000)
    void oversizedPayloadsAreRefusedBeforeReadingThem(@ForAll("codes") int code, @ForAll("hugeSizes") long size) {
        ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(code).putInt(VhostUserCodec.VERSION).putInt((int) size);
        ScriptedWire wire = new ScriptedWire(List.of(new Wire.Chunk(header.array(), new int[0]),
                new Wire.Chunk(new byte[4096], new int[0])));
        assertThrows(VhostUserProtocolException.class, () -> VhostUserCodec.read(wire, VhostUserCodec.MAX_REGIONS));
        assertEquals(12, wire.bytesConsumed, "only the header was read");
    }

    @Provide
    Arbitrary<Integer> codes() {
        return Arbitraries.of(java.util.Arrays.stream(CODES).boxed().toList());
    }

    @Provide
    Arbitrary<Long> hugeSizes() {
        return Arbitraries.longs().between(VhostUserCodec.MAX_PAYLOAD + 1L, 0xffff_ffffL);
    }

    /** Every payload the back-end can receive survives encode → read unchanged. */
    @Property(tries = 2_000)
    void wellFormedMessagesRoundTrip(@ForAll long seed) throws Exception {
        Generated g = randomMessage(new Random(seed));
        int[] fds = new int[g.fdCount()];
        for (int i = 0; i < fds.length; i++) fds[i] = 100 + i;
        VhostUserMessage m = VhostUserCodec.read(new ScriptedWire(List.of(new Wire.Chunk(g.bytes(), fds))), VhostUserCodec.MAX_REGIONS).orElseThrow();
        assertEquals(g.request(), m.request());
        assertArrayEquals(fds, m.fds());
        assertArrayEquals(VhostUserCodec.encode(g.payload()), VhostUserCodec.encode(m.payload()));
    }

    // ---------------------------------------------------------------- named violations

    private static VhostUserProtocolException refused(byte[] bytes, int[] fds) {
        ScriptedWire wire = new ScriptedWire(List.of(new Wire.Chunk(bytes, fds)));
        VhostUserProtocolException e = assertThrows(VhostUserProtocolException.class, () -> VhostUserCodec.read(wire, VhostUserCodec.MAX_REGIONS));
        assertEquals(fds.length, wire.closed.size(), "the rejected message's descriptors are closed");
        return e;
    }

    @Test
    void unknownRequestIsRefused() {
        byte[] b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(99).putInt(1).putInt(0).array();
        assertTrue(refused(b, new int[0]).getMessage().contains("unknown"));
    }

    @Test
    void wrongVersionAndReplyFlagAreRefused() {
        assertTrue(refused(VhostUserCodec.request(VhostUserRequest.GET_FEATURES, 2, new Empty()), new int[0]).getMessage().contains("version"));
        refused(VhostUserCodec.request(VhostUserRequest.GET_FEATURES, 1 | VhostUserCodec.FLAG_REPLY, new Empty()), new int[0]);
    }

    @Test
    void nineRegionsAreRefused() {
        List<Region> regions = new ArrayList<>();
        for (int i = 0; i < 9; i++) regions.add(new Region(i * 0x1000L, 0x1000, 0x7f00_0000_0000L + i * 0x1000L, 0));
        int[] fds = {1, 2, 3, 4, 5, 6, 7, 8};
        refused(VhostUserCodec.request(VhostUserRequest.SET_MEM_TABLE, 1, new MemoryTable(regions)), fds);
    }

    @Test
    void descriptorCountMustMatchTheMessage() {
        byte[] table = VhostUserCodec.request(VhostUserRequest.SET_MEM_TABLE, 1, new MemoryTable(List.of(new Region(0, 0x1000, 0x1000, 0))));
        assertTrue(refused(table, new int[] {7, 8}).getMessage().contains("descriptors"));
        refused(table, new int[0]);
        refused(VhostUserCodec.request(VhostUserRequest.SET_VRING_KICK, 1, new VringFile(0, true)), new int[] {9});
        refused(VhostUserCodec.request(VhostUserRequest.GET_FEATURES, 1, new Empty()), new int[] {9});
    }

    @Test
    void configWindowMustFitTheConfigSpace() {
        refused(VhostUserCodec.request(VhostUserRequest.GET_CONFIG, 1, new Config(250, 0, new byte[8])), new int[0]);
    }
}
