package org.jvmm.sandbox.frontend;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.virtio.ActiveQueue;
import org.jvmm.virtio.DeviceContext;

/** A transport's activation as a test sees it: counts used-buffer interrupts and records failures. */
public final class FakeContext implements DeviceContext {

    final GuestMemory memory;
    final long features;
    final List<ActiveQueue> queues;
    final Semaphore used = new Semaphore(0);
    final Semaphore failed = new Semaphore(0);
    final List<String> failures = new CopyOnWriteArrayList<>();

    FakeContext(GuestMemory memory, long features, List<ActiveQueue> queues) {
        this.memory = memory;
        this.features = features;
        this.queues = queues;
    }

    @Override public GuestMemory memory() { return memory; }
    @Override public long features() { return features; }
    @Override public List<ActiveQueue> queues() { return queues; }

    @Override
    public void signalUsed() {
        used.release();
    }

    @Override
    public void fail(String reason) {
        failures.add(reason);
        failed.release();
    }
}
