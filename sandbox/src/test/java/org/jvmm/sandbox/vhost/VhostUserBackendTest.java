package org.jvmm.sandbox.vhost;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.Empty;
import org.jvmm.sandbox.vhost.VhostUserPayload.MemoryTable;
import org.jvmm.sandbox.vhost.VhostUserPayload.Region;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringAddress;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringFile;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The back-end against a front-end written here from vhost-user.rst, over a real socket pair with real
 * memfd-shared memory and eventfds: the handshake, virtio-blk requests served from a kick and signalled
 * on the call descriptor, GET_VRING_BASE, and out-of-order or unknown messages ending the connection.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VhostUserBackendTest {

    private static final int V = VhostUserCodec.VERSION;
    private static final int NEED_REPLY = VhostUserCodec.FLAG_NEED_REPLY;
    // Guest-physical layout: rings in a small low region, data buffers in a second region.
    private static final long LOW = 0, LOW_SIZE = 0x10000, HIGH = 0x100000, HIGH_SIZE = 0x100000;
    private static final long DESC = 0x1000, AVAIL = 0x2000, USED = 0x3000;
    private static final int QUEUE = 8;

    @TempDir Path dir;
    private GuestMemory guest;
    private int frontend;
    private SocketWire frontWire;
    private CompletableFuture<String> served;
    private byte[] disk;
    private Path image;

    @BeforeEach
    void start() throws Exception {
        guest = SharedGuestMemory.allocate(List.of(new MemoryRange(LOW, LOW_SIZE), new MemoryRange(HIGH, HIGH_SIZE)));
        disk = new byte[64 * 1024];
        new Random(7).nextBytes(disk);
        image = dir.resolve("disk.img");
        Files.write(image, disk);
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        frontend = pair[0];
        frontWire = new SocketWire(pair[0]);
        VhostUserBackend backend = new VhostUserBackend(new VirtioBlock(DiskImage.open(image, false), "vhost-test"), new SocketWire(pair[1]));
        served = CompletableFuture.supplyAsync(backend::serve, r -> Thread.ofPlatform().daemon().start(r));
    }

    @AfterEach
    void stop() {
        frontWire.close();
        guest.close();
    }

    // ---------------------------------------------------------------- a minimal front-end

    private void send(VhostUserRequest r, int flags, VhostUserPayload p, int... fds) {
        byte[] bytes = VhostUserCodec.request(r, flags, p);
        assertEquals(bytes.length, LinuxLibc.sendWithFds(frontend, bytes, fds));
    }

    /** Reads one reply; null if the back-end closed the connection instead. */
    private ByteBuffer reply(VhostUserRequest expected) throws Exception {
        byte[] header = readExactly(12);
        if (header == null) return null;
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(expected.code(), h.getInt(0), "reply request code");
        assertEquals(V | VhostUserCodec.FLAG_REPLY, h.getInt(4), "reply flags");
        byte[] body = readExactly(h.getInt(8));
        return ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
    }

    private byte[] readExactly(int n) throws Exception {
        byte[] out = new byte[n];
        for (int got = 0; got < n; ) {
            Wire.Chunk c;
            try {
                c = frontWire.receive(n - got, 0);
            } catch (VhostUserProtocolException e) {
                // ECONNRESET: the back-end closed with our unread bytes still queued; that is a close too.
                return null;
            }
            if (c.data().length == 0) return null;
            System.arraycopy(c.data(), 0, out, got, c.data().length);
            got += c.data().length;
        }
        return out;
    }

    private long ack(VhostUserRequest r, VhostUserPayload p, int... fds) throws Exception {
        send(r, V | NEED_REPLY, p, fds);
        ByteBuffer b = reply(r);
        if (b == null) {
            String why = served.handle((v, t) -> t != null ? "threw " + t : "returned " + v).get(10, TimeUnit.SECONDS);
            throw new AssertionError(r + ": the back-end closed the connection instead of acknowledging; serve() " + why);
        }
        return b.getLong(0);
    }

    private Region region(int i) {
        MemoryRegion m = guest.regions().get(i);
        return new Region(m.guestAddress(), m.size(), m.segment().address(), m.fdOffset());
    }

    private long va(long gpa) {
        for (MemoryRegion m : guest.regions()) {
            if (gpa >= m.guestAddress() && gpa < m.end()) return m.segment().address() + (gpa - m.guestAddress());
        }
        throw new AssertionError("no region for " + gpa);
    }

    private void handshake() throws Exception {
        send(VhostUserRequest.GET_FEATURES, V, new Empty());
        long features = reply(VhostUserRequest.GET_FEATURES).getLong(0);
        assertTrue((features & (1L << VhostUserBackend.F_PROTOCOL_FEATURES)) != 0, "VHOST_USER_F_PROTOCOL_FEATURES offered");
        assertTrue((features & VirtioFeatures.bit(VirtioFeatures.VERSION_1)) != 0, "VIRTIO_F_VERSION_1 offered");
        send(VhostUserRequest.GET_PROTOCOL_FEATURES, V, new Empty());
        long protocol = reply(VhostUserRequest.GET_PROTOCOL_FEATURES).getLong(0);
        long want = (1L << VhostUserBackend.PF_REPLY_ACK) | (1L << VhostUserBackend.PF_CONFIG);
        assertEquals(want, protocol & want, "REPLY_ACK and CONFIG offered");
        send(VhostUserRequest.SET_PROTOCOL_FEATURES, V, new U64(want));
        assertEquals(0, ack(VhostUserRequest.SET_OWNER, new Empty()));
        assertEquals(0, ack(VhostUserRequest.SET_FEATURES,
                new U64(VirtioFeatures.bit(VirtioFeatures.VERSION_1) | (1L << VhostUserBackend.F_PROTOCOL_FEATURES))));
    }

    // ---------------------------------------------------------------- tests

    @Test
    void servesBlockRequestsInSharedMemoryAndSignalsTheCallDescriptor() throws Exception {
        handshake();
        int[] memFds = guest.regions().stream().mapToInt(MemoryRegion::fd).toArray();
        assertEquals(0, ack(VhostUserRequest.SET_MEM_TABLE, new MemoryTable(List.of(region(0), region(1))), memFds));

        send(VhostUserRequest.GET_CONFIG, V, new Config(0, 0, new byte[8]));
        ByteBuffer config = reply(VhostUserRequest.GET_CONFIG);
        assertEquals(8, config.getInt(4));
        assertEquals(disk.length / 512, config.getLong(12), "capacity in sectors from GET_CONFIG");

        try (EventFd kick = new EventFd(); EventFd call = new EventFd()) {
            assertEquals(0, ack(VhostUserRequest.SET_VRING_NUM, new VringState(0, QUEUE)));
            assertEquals(0, ack(VhostUserRequest.SET_VRING_ADDR, new VringAddress(0, 0, va(DESC), va(USED), va(AVAIL), 0)));
            assertEquals(0, ack(VhostUserRequest.SET_VRING_BASE, new VringState(0, 0)));
            assertEquals(0, ack(VhostUserRequest.SET_VRING_CALL, new VringFile(0, false), call.fd()));
            assertEquals(0, ack(VhostUserRequest.SET_VRING_KICK, new VringFile(0, false), kick.fd()));
            assertEquals(0, ack(VhostUserRequest.SET_VRING_ENABLE, new VringState(0, 1)));

            // Request 1 reads sector 3; request 2 writes a pattern to sector 5.
            long hdr1 = HIGH, data1 = HIGH + 0x1000, status1 = HIGH + 0x2000;
            long hdr2 = HIGH + 0x3000, data2 = HIGH + 0x4000, status2 = HIGH + 0x5000;
            byte[] pattern = new byte[512];
            new Random(11).nextBytes(pattern);
            writeHeader(hdr1, VirtioBlock.T_IN, 3);
            writeHeader(hdr2, VirtioBlock.T_OUT, 5);
            guest.write(data2, pattern);
            guest.write8(status1, 0xff);
            guest.write8(status2, 0xff);
            descriptor(0, hdr1, 16, 1, 1);
            descriptor(1, data1, 512, 1 | 2, 2);
            descriptor(2, status1, 1, 2, 0);
            descriptor(3, hdr2, 16, 1, 4);
            descriptor(4, data2, 512, 1, 5);
            descriptor(5, status2, 1, 2, 0);
            guest.write16(AVAIL + 4, 0);
            guest.write16(AVAIL + 6, 3);
            guest.write16Release(AVAIL + 2, 2);
            kick.signal();

            for (int i = 0; i < 100 && guest.read16Acquire(USED + 2) != 2; i++) call.await(300);
            assertEquals(2, guest.read16Acquire(USED + 2), "both requests completed on the used ring");
            assertEquals(VirtioBlock.S_OK, guest.read8(status1));
            assertEquals(VirtioBlock.S_OK, guest.read8(status2));
            assertArrayEquals(java.util.Arrays.copyOfRange(disk, 3 * 512, 4 * 512), guest.readBytes(data1, 512), "sector 3 as read");
            assertEquals(0, guest.read32(USED + 4), "first used element is chain 0");
            assertEquals(3, guest.read32(USED + 12), "second used element is chain 3");

            send(VhostUserRequest.GET_VRING_BASE, V, new VringState(0, 0));
            ByteBuffer base = reply(VhostUserRequest.GET_VRING_BASE);
            assertEquals(0, base.getInt(0));
            assertEquals(2, base.getInt(4), "the ring stopped after the two requests");

            // Started again where it stopped (as after a migration or a front-end restart): a third
            // request, reading back the sector the second one wrote, is taken from available entry 2.
            try (EventFd kick2 = new EventFd()) {
                assertEquals(0, ack(VhostUserRequest.SET_VRING_BASE, new VringState(0, 2)));
                assertEquals(0, ack(VhostUserRequest.SET_VRING_KICK, new VringFile(0, false), kick2.fd()));
                long hdr3 = HIGH + 0x6000, data3 = HIGH + 0x7000, status3 = HIGH + 0x8000;
                writeHeader(hdr3, VirtioBlock.T_IN, 5);
                guest.write8(status3, 0xff);
                descriptor(6, hdr3, 16, 1, 7);
                descriptor(7, data3, 512, 1 | 2, 2);
                descriptor(2, status3, 1, 2, 0);
                guest.write16(AVAIL + 8, 6);
                guest.write16Release(AVAIL + 2, 3);
                kick2.signal();
                for (int i = 0; i < 100 && guest.read16Acquire(USED + 2) != 3; i++) call.await(300);
                assertEquals(3, guest.read16Acquire(USED + 2), "the third request completed");
                assertEquals(6, guest.read32(USED + 4 + 16), "third used element is chain 6");
                assertEquals(VirtioBlock.S_OK, guest.read8(status3));
                assertArrayEquals(pattern, guest.readBytes(data3, 512), "sector 5 holds what request 2 wrote");
            }
        }
        frontWire.close();
        assertNull(served.get(10, TimeUnit.SECONDS), "a clean disconnect ends serve() without a violation");
        assertArrayEquals(guest.readBytes(HIGH + 0x4000, 512), java.util.Arrays.copyOfRange(Files.readAllBytes(image), 5 * 512, 6 * 512),
                "the written sector reached the image");
    }

    private void writeHeader(long at, int type, long sector) {
        guest.write32(at, type);
        guest.write32(at + 4, 0);
        guest.write64(at + 8, sector);
    }

    private void descriptor(int i, long address, int length, int flags, int next) {
        long at = DESC + 16L * i;
        guest.write64(at, address);
        guest.write32(at + 8, length);
        guest.write16(at + 12, flags);
        guest.write16(at + 14, next);
    }

    /**
     * QEMU 7.2's vhost-user-net sets protocol features but leaves VHOST_USER_F_PROTOCOL_FEATURES out of
     * SET_FEATURES, then enables its rings with SET_VRING_ENABLE (found by QemuVhostUserTest): that is accepted,
     * and the ring runs before any SET_VRING_ENABLE (the bit was not negotiated, so it starts enabled) and after one.
     */
    @Test
    void ringEnablingFromAFrontEndThatSetProtocolFeaturesButLeftTheirBitOutOfSetFeatures() throws Exception {
        send(VhostUserRequest.GET_FEATURES, V, new Empty());
        reply(VhostUserRequest.GET_FEATURES);
        send(VhostUserRequest.SET_PROTOCOL_FEATURES, V, new U64(1L << VhostUserBackend.PF_REPLY_ACK));
        assertEquals(0, ack(VhostUserRequest.SET_OWNER, new Empty()));
        assertEquals(0, ack(VhostUserRequest.SET_FEATURES, new U64(VirtioFeatures.bit(VirtioFeatures.VERSION_1))));
        int[] memFds = guest.regions().stream().mapToInt(MemoryRegion::fd).toArray();
        assertEquals(0, ack(VhostUserRequest.SET_MEM_TABLE, new MemoryTable(List.of(region(0), region(1))), memFds));
        try (EventFd kick = new EventFd(); EventFd call = new EventFd()) {
            assertEquals(0, ack(VhostUserRequest.SET_VRING_NUM, new VringState(0, QUEUE)));
            assertEquals(0, ack(VhostUserRequest.SET_VRING_ADDR, new VringAddress(0, 0, va(DESC), va(USED), va(AVAIL), 0)));
            assertEquals(0, ack(VhostUserRequest.SET_VRING_BASE, new VringState(0, 0)));
            assertEquals(0, ack(VhostUserRequest.SET_VRING_CALL, new VringFile(0, false), call.fd()));
            assertEquals(0, ack(VhostUserRequest.SET_VRING_KICK, new VringFile(0, false), kick.fd()));
            // Chain 0 reads sector 1; it is served with no SET_VRING_ENABLE sent yet.
            long hdr = HIGH, data = HIGH + 0x1000, status = HIGH + 0x2000;
            writeHeader(hdr, VirtioBlock.T_IN, 1);
            guest.write8(status, 0xff);
            descriptor(0, hdr, 16, 1, 1);
            descriptor(1, data, 512, 1 | 2, 2);
            descriptor(2, status, 1, 2, 0);
            guest.write16(AVAIL + 4, 0);
            guest.write16Release(AVAIL + 2, 1);
            kick.signal();
            for (int i = 0; i < 100 && guest.read16Acquire(USED + 2) != 1; i++) call.await(300);
            assertEquals(1, guest.read16Acquire(USED + 2), "the request was served by a ring that was never explicitly enabled");
            assertArrayEquals(java.util.Arrays.copyOfRange(disk, 512, 1024), guest.readBytes(data, 512), "sector 1 as read");

            assertEquals(0, ack(VhostUserRequest.SET_VRING_ENABLE, new VringState(0, 1)), "SET_VRING_ENABLE is accepted");
            guest.write8(status, 0xff);
            guest.write16(AVAIL + 6, 0);
            guest.write16Release(AVAIL + 2, 2);
            kick.signal();
            for (int i = 0; i < 100 && guest.read16Acquire(USED + 2) != 2; i++) call.await(300);
            assertEquals(2, guest.read16Acquire(USED + 2), "explicitly enabled, the ring serves the next request");
        }
        frontWire.close();
        assertNull(served.get(10, TimeUnit.SECONDS), "no protocol violation");
    }

    @Test
    void ringAddressBeforeTheMemoryTableIsRefusedAndClosesTheConnection() throws Exception {
        handshake();
        assertEquals(1, ack(VhostUserRequest.SET_VRING_ADDR, new VringAddress(0, 0, 0x1000, 0x3000, 0x2000, 0)),
                "REPLY_ACK reports the failure");
        assertNull(readExactly(1), "then the back-end closes the connection");
        assertTrue(served.get(10, TimeUnit.SECONDS).contains("before SET_MEM_TABLE"));
    }

    @Test
    void unknownRequestClosesTheConnection() throws Exception {
        handshake();
        byte[] setLogBase = ByteBuffer.allocate(12 + 16).order(ByteOrder.LITTLE_ENDIAN).putInt(6).putInt(V).putInt(16).array();
        LinuxLibc.sendWithFds(frontend, setLogBase, new int[0]);
        assertNull(readExactly(1));
        assertTrue(served.get(10, TimeUnit.SECONDS).contains("unknown"));
    }

    @Test
    void ringIndexPastTheDeviceIsRefused() throws Exception {
        handshake();
        assertEquals(1, ack(VhostUserRequest.SET_VRING_NUM, new VringState(1, QUEUE)));
        assertTrue(served.get(10, TimeUnit.SECONDS).contains("does not exist"));
    }

    @Test
    void featuresNeverOfferedAreRefused() throws Exception {
        handshake();
        assertEquals(1, ack(VhostUserRequest.SET_FEATURES, new U64(1L << 63)));
        assertTrue(served.get(10, TimeUnit.SECONDS).contains("never offered"));
    }

    @Test
    void memoryTableBeforeSetOwnerIsRefused() throws Exception {
        send(VhostUserRequest.SET_PROTOCOL_FEATURES, V, new U64(1L << VhostUserBackend.PF_REPLY_ACK));
        int[] memFds = guest.regions().stream().mapToInt(MemoryRegion::fd).toArray();
        assertEquals(1, ack(VhostUserRequest.SET_MEM_TABLE, new MemoryTable(List.of(region(0), region(1))), memFds));
        assertTrue(served.get(10, TimeUnit.SECONDS).contains("before SET_OWNER"));
    }

    @Test
    void regionLargerThanItsDescriptorIsRefusedInsteadOfRisingSigbusLater() throws Exception {
        handshake();
        Region low = region(0);
        Region tooBig = new Region(low.guestAddress(), low.size() + 0x1000, low.userAddress(), low.mmapOffset());
        assertEquals(1, ack(VhostUserRequest.SET_MEM_TABLE, new MemoryTable(List.of(tooBig)), guest.regions().get(0).fd()));
        assertTrue(served.get(10, TimeUnit.SECONDS).contains("bytes"), "names the size mismatch");
    }

    @Test
    void overlappingRegionsAreRefused() throws Exception {
        handshake();
        Region low = region(0);
        Region overlapping = new Region(low.guestAddress() + 0x1000, 0x1000, low.userAddress() + 0x1000, 0x1000);
        int fd = guest.regions().get(0).fd();
        assertEquals(1, ack(VhostUserRequest.SET_MEM_TABLE, new MemoryTable(List.of(low, overlapping)), fd, fd));
        assertTrue(served.get(10, TimeUnit.SECONDS).contains("overlap"));
    }
}
