package org.jvmm.sandbox.frontend;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.virtio.ActiveQueue;
import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.queue.QueueException;
import org.jvmm.virtio.queue.SplitQueue;

/** The frontend package's test driver, for tests in other packages: a block ring and the activation it runs in. */
public final class FrontendTestAccess {

    private FrontendTestAccess() {}

    /** A virtio-blk driver on a fresh ring in {@code memory}, kicked through {@code kick}. */
    public static Driver blockDriver(GuestMemory memory, EventFd kick) throws QueueException {
        BlockRing ring = new BlockRing(memory);
        SplitQueue q = new SplitQueue(memory, BlockRing.layout(), 256, false, false);
        FakeContext context = new FakeContext(memory, VirtioFeatures.bit(VirtioFeatures.VERSION_1), List.of(new ActiveQueue(0, q, kick)));
        return new Driver(ring, context, kick);
    }

    /** Requests one at a time, each waited for (bounded by a hang guard). */
    public record Driver(BlockRing ring, FakeContext fake, EventFd kick) {
        public DeviceContext context() {
            return fake;
        }

        /** Writes {@code data} at {@code sector}; the status byte the device returned. */
        public int write(long sector, byte[] data) throws InterruptedException {
            fake.memory.write(BlockRing.DATA, data);
            return complete(() -> ring.submit(BlockRing.T_OUT, sector, data.length));
        }

        /** Reads {@code length} bytes at {@code sector}; the data, or null if the status was not OK. */
        public byte[] read(long sector, int length) throws InterruptedException {
            fake.memory.write(BlockRing.DATA, new byte[length]);
            int status = complete(() -> ring.submit(BlockRing.T_IN, sector, length));
            return status == 0 ? fake.memory.readBytes(BlockRing.DATA, length) : null;
        }

        /** A FLUSH; the status byte. */
        public int flush() throws InterruptedException {
            return complete(() -> ring.submit(BlockRing.T_FLUSH, 0, 0));
        }

        private int complete(Runnable submit) throws InterruptedException {
            int before = ring.usedIdx();
            submit.run();
            kick.signal();
            for (int i = 0; i < 300 && ring.usedIdx() == before; i++) fake.used.tryAcquire(100, TimeUnit.MILLISECONDS);
            if (ring.usedIdx() == before) throw new AssertionError("the request was never completed");
            return ring.status();
        }

        public boolean awaitFailure(int seconds) throws InterruptedException {
            return fake.failed.tryAcquire(seconds, TimeUnit.SECONDS);
        }

        public List<String> failures() {
            return fake.failures;
        }
    }
}
