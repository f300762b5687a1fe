package org.jvmm.sandbox.jail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.vhost.SocketWire;
import org.jvmm.sandbox.vhost.VhostUserBackend;
import org.jvmm.sandbox.vhost.VhostUserCodec;
import org.jvmm.sandbox.vhost.VhostUserPayload;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.Empty;
import org.jvmm.sandbox.vhost.VhostUserPayload.MemoryTable;
import org.jvmm.sandbox.vhost.VhostUserPayload.Region;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringAddress;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringFile;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;
import org.jvmm.sandbox.vhost.VhostUserRequest;
import org.jvmm.sandbox.vhost.Wire;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.blk.VirtioBlock;

/**
 * A minimal vhost-user front-end for a virtio-blk back-end, written from vhost-user.rst for the jail's
 * tests: the handshake, shared memfd memory, one queue with real eventfds, then a read of sector 3 and a
 * write of a pattern to sector 5, each checked. Throws {@link AssertionError} on anything unexpected, so
 * that it also works inside a child JVM that has no test framework.
 */
final class BlkFrontend implements AutoCloseable {

    private static final int V = VhostUserCodec.VERSION;
    private static final long LOW = 0, LOW_SIZE = 0x10000, HIGH = 0x100000, HIGH_SIZE = 0x100000;
    private static final long DESC = 0x1000, AVAIL = 0x2000, USED = 0x3000;

    private final int socket;
    private final SocketWire wire;
    private final GuestMemory guest;
    private final EventFd kick = new EventFd(), call = new EventFd();

    /** Takes over the connected {@code socket}; the memory and eventfds are made here, before {@link #run}. */
    BlkFrontend(int socket) {
        this.socket = socket;
        this.wire = new SocketWire(socket);
        this.guest = SharedGuestMemory.allocate(List.of(new MemoryRange(LOW, LOW_SIZE), new MemoryRange(HIGH, HIGH_SIZE)));
    }

    /** The pattern {@link #run} writes to sector 5. */
    static byte[] pattern() {
        byte[] p = new byte[512];
        new Random(11).nextBytes(p);
        return p;
    }

    /**
     * Drives the back-end through one read and one write on a disk whose contents are {@code disk};
     * returns the capacity in sectors the back-end reported.
     */
    long run(byte[] disk) throws Exception {
        send(VhostUserRequest.GET_FEATURES, new Empty());
        long features = reply(VhostUserRequest.GET_FEATURES).getLong(0);
        check((features & (1L << VhostUserBackend.F_PROTOCOL_FEATURES)) != 0, "protocol features offered");
        long want = (1L << VhostUserBackend.PF_REPLY_ACK) | (1L << VhostUserBackend.PF_CONFIG);
        send(VhostUserRequest.SET_PROTOCOL_FEATURES, new U64(want));
        ack(VhostUserRequest.SET_OWNER, new Empty());
        ack(VhostUserRequest.SET_FEATURES,
                new U64(VirtioFeatures.bit(VirtioFeatures.VERSION_1) | (1L << VhostUserBackend.F_PROTOCOL_FEATURES)));
        int[] memFds = guest.regions().stream().mapToInt(MemoryRegion::fd).toArray();
        ack(VhostUserRequest.SET_MEM_TABLE, new MemoryTable(List.of(region(0), region(1))), memFds);
        send(VhostUserRequest.GET_CONFIG, new Config(0, 0, new byte[8]));
        long capacity = reply(VhostUserRequest.GET_CONFIG).getLong(12);

        {
            ack(VhostUserRequest.SET_VRING_NUM, new VringState(0, 8));
            ack(VhostUserRequest.SET_VRING_ADDR, new VringAddress(0, 0, va(DESC), va(USED), va(AVAIL), 0));
            ack(VhostUserRequest.SET_VRING_BASE, new VringState(0, 0));
            ack(VhostUserRequest.SET_VRING_CALL, new VringFile(0, false), call.fd());
            ack(VhostUserRequest.SET_VRING_KICK, new VringFile(0, false), kick.fd());
            ack(VhostUserRequest.SET_VRING_ENABLE, new VringState(0, 1));

            long hdr1 = HIGH, data1 = HIGH + 0x1000, status1 = HIGH + 0x2000;
            long hdr2 = HIGH + 0x3000, data2 = HIGH + 0x4000, status2 = HIGH + 0x5000;
            header(hdr1, VirtioBlock.T_IN, 3);
            header(hdr2, VirtioBlock.T_OUT, 5);
            guest.write(data2, pattern());
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
            check(guest.read16Acquire(USED + 2) == 2, "both requests completed on the used ring");
            check(guest.read8(status1) == VirtioBlock.S_OK, "the read succeeded");
            check(guest.read8(status2) == VirtioBlock.S_OK, "the write succeeded");
            check(Arrays.equals(Arrays.copyOfRange(disk, 3 * 512, 4 * 512), guest.readBytes(data1, 512)), "sector 3 as read");
        }
        return capacity;
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError("vhost-user blk front-end: expected " + what);
    }

    private void send(VhostUserRequest r, VhostUserPayload p, int... fds) {
        LinuxLibc.sendWithFds(socket, VhostUserCodec.request(r, V, p), fds);
    }

    private void ack(VhostUserRequest r, VhostUserPayload p, int... fds) throws Exception {
        LinuxLibc.sendWithFds(socket, VhostUserCodec.request(r, V | VhostUserCodec.FLAG_NEED_REPLY, p), fds);
        long status = reply(r).getLong(0);
        check(status == 0, r + " acknowledged with 0, not " + status);
    }

    private ByteBuffer reply(VhostUserRequest expected) throws Exception {
        ByteBuffer h = ByteBuffer.wrap(readExactly(12)).order(ByteOrder.LITTLE_ENDIAN);
        check(h.getInt(0) == expected.code(), "a reply to " + expected + ", not request " + h.getInt(0));
        return ByteBuffer.wrap(readExactly(h.getInt(8))).order(ByteOrder.LITTLE_ENDIAN);
    }

    private byte[] readExactly(int n) throws Exception {
        byte[] out = new byte[n];
        for (int got = 0; got < n; ) {
            Wire.Chunk c = wire.receive(n - got, 0);
            check(c.data().length > 0, "the back-end to keep the connection open");
            System.arraycopy(c.data(), 0, out, got, c.data().length);
            got += c.data().length;
        }
        return out;
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

    private void header(long at, int type, long sector) {
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

    @Override
    public void close() {
        wire.close();
        guest.close();
        kick.close();
        call.close();
    }
}
