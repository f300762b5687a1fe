package org.jvmm.sandbox.frontend;

import org.jvmm.core.memory.GuestMemory;
import org.jvmm.virtio.queue.QueueLayout;

/**
 * A minimal virtio-blk driver on one split queue in guest memory, written from the specification
 * (§2.7 split virtqueues, §5.2.6 block requests): three-descriptor requests, one at a time.
 */
public final class BlockRing {

    static final int SIZE = 8;
    static final long DESC = 0x1000, AVAIL = 0x2000, USED = 0x3000, HEADER = 0x4000, STATUS = 0x4100, DATA = 0x5000;
    static final int T_IN = 0, T_OUT = 1, T_FLUSH = 4;

    final GuestMemory memory;
    private int avail;

    BlockRing(GuestMemory memory) {
        this.memory = memory;
        for (long a = DESC; a < DATA; a += 8) memory.write64(a, 0);
    }

    static QueueLayout layout() {
        return new QueueLayout(SIZE, DESC, AVAIL, USED);
    }

    /** Publishes a request of {@code type} at {@code sector} over {@code length} bytes at DATA (none for a flush). */
    void submit(int type, long sector, int length) {
        memory.write32(HEADER, type);
        memory.write32(HEADER + 4, 0);
        memory.write64(HEADER + 8, sector);
        memory.write8(STATUS, 0xff);
        int head = 0;
        descriptor(0, HEADER, 16, 1, 1);
        if (length > 0) {
            descriptor(1, DATA, length, 1 | (type == T_IN ? 2 : 0), 2);
            descriptor(2, STATUS, 1, 2, 0);
        } else {
            descriptor(1, STATUS, 1, 2, 0);
        }
        memory.write16(AVAIL + 4 + 2L * (avail % SIZE), head);
        avail = (avail + 1) & 0xffff;
        memory.write16Release(AVAIL + 2, avail);
    }

    private void descriptor(int i, long address, int length, int flags, int next) {
        long at = DESC + 16L * i;
        memory.write64(at, address);
        memory.write32(at + 8, length);
        memory.write16(at + 12, flags);
        memory.write16(at + 14, next);
    }

    int usedIdx() {
        return memory.read16Acquire(USED + 2);
    }

    int status() {
        return memory.read8(STATUS);
    }
}
