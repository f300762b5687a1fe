package org.jvmm.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.core.sys.Posix;
import org.jvmm.sandbox.frontend.BackendPeer;
import org.jvmm.sandbox.frontend.DeviceShape;
import org.jvmm.sandbox.frontend.VhostUserDevice;
import org.jvmm.sandbox.vhost.SocketWire;
import org.jvmm.sandbox.vhost.VhostUserBackend;
import org.jvmm.virtio.ActiveQueue;
import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;
import org.jvmm.virtio.queue.QueueException;
import org.jvmm.virtio.queue.QueueLayout;
import org.jvmm.virtio.queue.SplitQueue;

/**
 * {@code Helper train}: one helper's work in a single JVM, for the run that records the helpers' AOT
 * cache (bin/jvmm) and as a self-test. A blk back-end serves a scratch image over a socket pair to jvmm's
 * own front-end, which writes, flushes and reads back a sector through a ring in memfd guest memory and
 * resets the device: the classes and native calls a real helper links on its way to serving.
 */
final class HelperTraining {

    private HelperTraining() {}

    /** Runs the exercise; 0 if the sector came back as written. */
    static int run() throws IOException, InterruptedException, QueueException {
        Path image = Files.createTempFile("jvmm-helper-train", ".img");
        try {
            Files.write(image, new byte[64 * 512]);
            int[] pair = Posix.unixSocketPair();
            VirtioBlock block = new VirtioBlock(DiskImage.open(image, false));
            CompletableFuture<String> served = CompletableFuture.supplyAsync(() -> {
                try (block; VhostUserBackend backend = new VhostUserBackend(block, new SocketWire(pair[1]))) {
                    return String.valueOf(backend.serve());
                }
            });
            boolean ok;
            try (GuestMemory memory = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 1 << 20)));
                 EventNotifier kick = EventNotifier.forHost();
                 VhostUserDevice device = VhostUserDevice.connect(DeviceShape.block("train"), pair[0], BackendPeer.NONE, null, 15_000)) {
                Semaphore used = new Semaphore(0);
                QueueLayout layout = new QueueLayout(8, 0x1000, 0x2000, 0x3000);
                SplitQueue queue = new SplitQueue(memory, layout, 256, false, false);
                device.activate(new DeviceContext() {
                    @Override public GuestMemory memory() { return memory; }
                    @Override public long features() { return VirtioFeatures.bit(VirtioFeatures.VERSION_1); }
                    @Override public List<ActiveQueue> queues() { return List.of(new ActiveQueue(0, queue, kick)); }
                    @Override public void signalUsed() { used.release(); }
                    @Override public void fail(String reason) { System.err.println("jvmm helper train: " + reason); }
                });
                for (int i = 0; i < 512; i++) memory.write8(0x5000 + i, i * 7);
                request(memory, kick, used, 0, 1, 1);  // VIRTIO_BLK_T_OUT, sector 1
                request(memory, kick, used, 1, 4, 0);  // VIRTIO_BLK_T_FLUSH
                memory.write(0x5000, new byte[512]);
                request(memory, kick, used, 2, 0, 1);  // VIRTIO_BLK_T_IN, sector 1
                ok = memory.read8(0x5000 + 3) == (21 & 0xff) && memory.read8(0x4100) == 0;
                device.reset();
            }
            served.get(30, TimeUnit.SECONDS);
            return ok ? 0 : 1;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            System.err.println("jvmm helper train: the back-end did not end: " + e);
            return 1;
        } finally {
            Files.deleteIfExists(image);
        }
    }

    /** One block request (header at 0x4000, 512 data bytes at 0x5000 unless a flush, status at 0x4100), waited for. */
    private static void request(GuestMemory m, EventNotifier kick, Semaphore used, int n, int type, long sector) throws InterruptedException {
        m.write32(0x4000, type);
        m.write32(0x4004, 0);
        m.write64(0x4008, sector);
        boolean data = type != 4;
        descriptor(m, 0, 0x4000, 16, 1, 1);
        if (data) descriptor(m, 1, 0x5000, 512, 1 | (type == 0 ? 2 : 0), 2);
        descriptor(m, data ? 2 : 1, 0x4100, 1, 2, 0);
        m.write16(0x2004 + 2L * (n % 8), 0);
        m.write16Release(0x2002, n + 1);
        kick.signal();
        for (int i = 0; i < 300 && m.read16Acquire(0x3002) != n + 1; i++) used.tryAcquire(100, TimeUnit.MILLISECONDS);
    }

    private static void descriptor(GuestMemory m, int i, long address, int length, int flags, int next) {
        long at = 0x1000 + 16L * i;
        m.write64(at, address);
        m.write32(at + 8, length);
        m.write16(at + 12, flags);
        m.write16(at + 14, next);
    }
}
