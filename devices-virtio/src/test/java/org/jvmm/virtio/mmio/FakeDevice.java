package org.jvmm.virtio.mmio;

import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioFeatures;

/** A device that only records what the transport does to it. */
final class FakeDevice implements VirtioDevice {

    static final long FEATURES = VirtioFeatures.bit(VirtioFeatures.VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) | 0b101;
    static final byte[] CONFIG = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, (byte) 0x88, 9, 10};

    final int queues;
    int activations;
    int resets;
    DeviceContext context;
    long lastConfigWrite = -1;

    FakeDevice(int queues) {
        this.queues = queues;
    }

    @Override public int deviceType() { return 42; }
    @Override public String name() { return "fake"; }
    @Override public int queueCount() { return queues; }
    @Override public int maxQueueSize() { return 64; }
    @Override public long features() { return FEATURES; }
    @Override public int configSize() { return CONFIG.length; }

    @Override
    public long readConfig(int offset, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) v |= (CONFIG[offset + i] & 0xffL) << (8 * i);
        return v;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        lastConfigWrite = ((long) offset << 32) | value;
    }

    @Override
    public void activate(DeviceContext context) {
        activations++;
        this.context = context;
    }

    @Override
    public void reset() {
        resets++;
        context = null;
    }
}
