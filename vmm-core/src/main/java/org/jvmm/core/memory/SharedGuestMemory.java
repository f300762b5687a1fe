package org.jvmm.core.memory;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.SysException;

/**
 * Allocates guest RAM that other processes can map: one shareable memory file per range (a memfd on Linux,
 * an unlinked POSIX shared memory object on macOS: {@link Posix#sharedMemory}), mapped {@code MAP_SHARED}.
 *
 * <p>Why a file and not anonymous memory: a vhost-user device helper maps the guest's RAM itself, which
 * needs a descriptor it can receive over SCM_RIGHTS and {@code mmap} — an anonymous mapping has none.
 * One file per range keeps each hypervisor memory slot and each vhost-user memory region one mapping.
 * Pages are allocated lazily by the kernel, so a large guest costs only what it touches.
 */
public final class SharedGuestMemory {

    private SharedGuestMemory() {}

    /** The host's page size for mappings: 4 KiB on x86-64 Linux, 16 KiB on Apple silicon (either is a safe minimum). */
    private static final long HOST_PAGE = 4096;

    /**
     * Creates and maps RAM for {@code ranges}; closing the returned memory unmaps every region and
     * closes its descriptor.
     *
     * @throws IllegalArgumentException if ranges overlap
     * @throws SysException             if the kernel refuses the memory
     */
    public static GuestMemory allocate(List<MemoryRange> ranges) {
        return allocate(ranges, HOST_PAGE);
    }

    /**
     * As {@link #allocate(List)}, with every region's host address a multiple of {@code alignment} (a power
     * of two): Hypervisor.framework on Apple silicon maps only 16 KiB-aligned host memory, which a 4 KiB-page
     * host (Linux, where the simulated framework runs) does not give by itself.
     */
    public static GuestMemory allocate(List<MemoryRange> ranges, long alignment) {
        if (alignment < HOST_PAGE || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two of at least a page");
        }
        List<MemoryRegion> regions = new ArrayList<>();
        try {
            for (MemoryRange range : ranges) regions.add(map(range, alignment));
            List<MemoryRegion> owned = List.copyOf(regions);
            AtomicBoolean closed = new AtomicBoolean();
            return new GuestMemory(owned, () -> {
                if (closed.compareAndSet(false, true)) release(owned);
            });
        } catch (RuntimeException e) {
            release(regions);
            throw e;
        }
    }

    /**
     * One range. Beyond a page, alignment is had without fixed mappings: the file is made {@code alignment}
     * bytes longer than the range, mapped whole, and everything outside the aligned window is unmapped
     * again; the region then starts that far into the file (its {@code fdOffset}, which vhost-user carries as
     * the region's mmap offset). The extra file bytes are never touched, so they cost nothing.
     */
    private static MemoryRegion map(MemoryRange range, long alignment) {
        long slack = alignment == HOST_PAGE ? 0 : alignment;
        int fd = Posix.sharedMemory("jvmm-guest-ram", range.size() + slack);
        try {
            MemorySegment whole = Posix.mapShared(fd, 0, range.size() + slack);
            long start = (whole.address() + alignment - 1) & -alignment;
            long head = start - whole.address();
            if (head > 0) Posix.unmap(MemorySegment.ofAddress(whole.address()).reinterpret(head));
            long tail = slack - head;
            if (tail > 0) Posix.unmap(MemorySegment.ofAddress(start + range.size()).reinterpret(tail));
            return new MemoryRegion(range.guestAddress(), MemorySegment.ofAddress(start).reinterpret(range.size()), fd, head);
        } catch (RuntimeException e) {
            Posix.close(fd);
            throw e;
        }
    }

    private static void release(List<MemoryRegion> regions) {
        for (MemoryRegion r : regions) {
            Posix.unmap(r.segment());
            Posix.close(r.fd());
        }
    }
}
