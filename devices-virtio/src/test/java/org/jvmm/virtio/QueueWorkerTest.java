package org.jvmm.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.virtio.queue.QueueLayout;
import org.jvmm.virtio.queue.SplitQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class QueueWorkerTest {

    static final long BASE = 0x10000;
    final GuestRam ram = new GuestRam(BASE, 0x10000);
    final QueueLayout layout = new QueueLayout(8, BASE, BASE + 0x1000, BASE + 0x2000);
    final RingDriver driver = new RingDriver(ram.memory, layout);
    final InProcessNotifier kick = new InProcessNotifier();
    final List<String> failures = new CopyOnWriteArrayList<>();
    final AtomicInteger interrupts = new AtomicInteger();

    @AfterEach
    void close() {
        ram.close();
    }

    DeviceContext context(ActiveQueue q) {
        return new DeviceContext() {
            @Override public GuestMemory memory() { return ram.memory; }
            @Override public long features() { return 0; }
            @Override public List<ActiveQueue> queues() { return List.of(q); }
            @Override public void signalUsed() { interrupts.incrementAndGet(); }
            @Override public void fail(String reason) { failures.add(reason); }
        };
    }

    ActiveQueue queue() throws Exception {
        return new ActiveQueue(0, new SplitQueue(ram.memory, layout, 8, false, false), kick);
    }

    void awaitUsed(int idx) throws InterruptedException {
        while (driver.usedIdx() != idx) Thread.sleep(1);
    }

    @Test
    void servesRequestsOnItsOwnThreadAndInterruptsOncePerBatch() throws Exception {
        List<String> threads = new CopyOnWriteArrayList<>();
        ActiveQueue q = queue();
        for (int i = 0; i < 3; i++) driver.descriptor(i, BASE + 0x4000, 16, 0, 0);
        driver.publish(0);
        driver.publish(1);
        driver.publish(2);
        QueueWorker w = QueueWorker.start("dev", context(q), q, chain -> {
            threads.add(Thread.currentThread().getName());
            return chain.head() * 10L;
        });
        awaitUsed(3);
        assertEquals(List.of("dev-q0", "dev-q0", "dev-q0"), threads);
        assertEquals(20, driver.usedLen(2));
        driver.publish(1);
        kick.signal();
        awaitUsed(4);
        w.stop();
        assertTrue(interrupts.get() >= 2 && interrupts.get() <= 4, "interrupts: " + interrupts.get());
        assertTrue(failures.isEmpty(), failures.toString());
    }

    @Test
    void afterStopNothingMoreIsServed() throws Exception {
        ActiveQueue q = queue();
        driver.descriptor(0, BASE + 0x4000, 16, 0, 0);
        AtomicInteger served = new AtomicInteger();
        QueueWorker w = QueueWorker.start("dev", context(q), q, chain -> served.incrementAndGet());
        w.stop();
        driver.publish(0);
        kick.signal();
        Thread.sleep(50);
        assertEquals(0, served.get());
        assertEquals(0, driver.usedIdx());
    }

    @Test
    void aBrokenRingOrAFailingHandlerIsReportedAndEndsTheThread() throws Exception {
        ActiveQueue q = queue();
        driver.descriptor(0, BASE + 0x4000, 16, 1, 0); // NEXT to itself: a loop
        driver.publish(0);
        QueueWorker w = QueueWorker.start("dev", context(q), q, chain -> 0);
        while (failures.isEmpty()) Thread.sleep(1);
        assertTrue(failures.getFirst().startsWith("queue 0: chain at head 0"), failures.toString());
        w.stop();

        failures.clear();
        RingDriver fresh = new RingDriver(ram.memory, layout);
        ram.ram().asSlice(0, 0x3000).fill((byte) 0);
        fresh.descriptor(0, BASE + 0x4000, 16, 0, 0);
        fresh.publish(0);
        CountDownLatch uncaught = new CountDownLatch(1);
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.countDown());
        try {
            ActiveQueue q2 = new ActiveQueue(0, new SplitQueue(ram.memory, layout, 8, false, false), kick);
            QueueWorker w2 = QueueWorker.start("dev", context(q2), q2, chain -> { throw new IllegalStateException("device bug"); });
            while (failures.isEmpty()) Thread.sleep(1);
            w2.stop();
            assertTrue(failures.getFirst().contains("device bug"), failures.toString());
            assertFalse(uncaught.await(100, TimeUnit.MILLISECONDS), "an exception escaped the device thread");
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(before);
        }
    }
}
