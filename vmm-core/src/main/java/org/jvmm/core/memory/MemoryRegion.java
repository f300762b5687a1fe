package org.jvmm.core.memory;

import java.lang.foreign.MemorySegment;

/**
 * One contiguous block of guest RAM.
 *
 * @param guestAddress the guest-physical address of the first byte
 * @param segment      the host mapping (its size is the region's size)
 * @param fd           the descriptor that backs the mapping (a memfd on Linux), so a helper process
 *                     can map the same pages; {@code -1} if the region is not shareable
 * @param fdOffset     the offset of the region within {@code fd}
 */
public record MemoryRegion(long guestAddress, MemorySegment segment, int fd, long fdOffset) {

    /** The size in bytes. */
    public long size() { return segment.byteSize(); }

    /** The guest-physical address one past the last byte. */
    public long end() { return guestAddress + segment.byteSize(); }

    @Override
    public String toString() {
        return "[0x%x, 0x%x)".formatted(guestAddress, end());
    }
}
