package org.jvmm.core.memory;

/**
 * A block of guest-physical address space to back with RAM, as an architecture's layout describes it
 * before any memory exists (for example "0 to 3 GiB, then 4 GiB upwards" around x86's 32-bit MMIO hole).
 *
 * @param guestAddress the first guest-physical address, page-aligned
 * @param size         the size in bytes, a positive multiple of the page size
 */
public record MemoryRange(long guestAddress, long size) {

    /** The page size every range is aligned to: 4 KiB, the smallest page of both guest architectures. */
    public static final long PAGE_SIZE = 4096;

    public MemoryRange {
        if (guestAddress < 0 || size <= 0 || guestAddress + size < guestAddress
                || (guestAddress % PAGE_SIZE) != 0 || (size % PAGE_SIZE) != 0) {
            throw new IllegalArgumentException("guest memory range 0x%x+0x%x must be positive and 4 KiB-aligned"
                    .formatted(guestAddress, size));
        }
    }

    /** The guest-physical address one past the last byte. */
    public long end() {
        return guestAddress + size;
    }
}
