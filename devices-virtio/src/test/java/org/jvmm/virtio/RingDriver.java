package org.jvmm.virtio;

import org.jvmm.core.memory.GuestMemory;
import org.jvmm.virtio.queue.QueueLayout;

/** The driver's side of a split virtqueue, written from the specification's structures (§2.7). */
public final class RingDriver {

    public final GuestMemory memory;
    public final QueueLayout layout;
    private int availIdx;

    public RingDriver(GuestMemory memory, QueueLayout layout) {
        this.memory = memory;
        this.layout = layout;
    }

    /** Writes descriptor {@code i} of the table at {@code table}. */
    public static void descriptor(GuestMemory memory, long table, int i, long address, long length, int flags, int next) {
        long at = table + 16L * i;
        memory.write64(at, address);
        memory.write32(at + 8, length);
        memory.write16(at + 12, flags);
        memory.write16(at + 14, next);
    }

    /** Writes descriptor {@code i} of the queue's own table. */
    public void descriptor(int i, long address, long length, int flags, int next) {
        descriptor(memory, layout.descriptorTable(), i, address, length, flags, next);
    }

    /** Puts {@code head} on the available ring and publishes it (release-stores the index). */
    public void publish(int head) {
        memory.write16(layout.availableRing() + 4 + 2L * (availIdx % layout.size()), head);
        availIdx = (availIdx + 1) & 0xffff;
        memory.write16Release(layout.availableRing() + 2, availIdx);
    }

    /** Sets the available index to any value (for hostile tests). */
    public void setAvailIdx(int idx) {
        availIdx = idx & 0xffff;
        memory.write16(layout.availableRing() + 2, availIdx);
    }

    public void setAvailFlags(int flags) {
        memory.write16(layout.availableRing(), flags);
    }

    public void setUsedEvent(int idx) {
        memory.write16(layout.availableRing() + 4 + 2L * layout.size(), idx);
    }

    public int usedFlags() {
        return memory.read16(layout.usedRing());
    }

    public int availEvent() {
        return memory.read16(layout.usedRing() + 4 + 8L * layout.size());
    }

    public int usedIdx() {
        return memory.read16Acquire(layout.usedRing() + 2);
    }

    public long usedId(int i) {
        return memory.read32(layout.usedRing() + 4 + 8L * (i % layout.size()));
    }

    public long usedLen(int i) {
        return memory.read32(layout.usedRing() + 8 + 8L * (i % layout.size()));
    }
}
