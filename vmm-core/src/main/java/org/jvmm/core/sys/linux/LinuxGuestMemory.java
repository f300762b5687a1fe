package org.jvmm.core.sys.linux;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.SysException;

/**
 * Allocates guest RAM on Linux: one memfd per range, mapped {@code MAP_SHARED}.
 *
 * <p>Why memfd and not anonymous memory: a vhost-user device helper maps the guest's RAM itself, which
 * needs a descriptor it can receive over SCM_RIGHTS and {@code mmap} — an anonymous mapping has none.
 * One memfd per range keeps each KVM memory slot and each vhost-user memory region a whole file at
 * offset 0. Pages are allocated lazily by the kernel ({@code MAP_NORESERVE}), so a large guest costs only
 * what it touches.
 */
public final class LinuxGuestMemory {

    private LinuxGuestMemory() {}

    /**
     * Creates and maps RAM for {@code ranges}; closing the returned memory unmaps every region and
     * closes its descriptor.
     *
     * @throws IllegalArgumentException if ranges overlap
     * @throws SysException             if the kernel refuses the memory
     */
    public static GuestMemory allocate(List<MemoryRange> ranges) {
        List<MemoryRegion> regions = new ArrayList<>();
        try {
            for (MemoryRange range : ranges) {
                int fd = LinuxLibc.memfdCreate("jvmm-guest-ram", LinuxLibc.MFD_CLOEXEC);
                try {
                    LinuxLibc.ftruncate(fd, range.size());
                    MemorySegment mapping = LinuxLibc.mmap(range.size(), LinuxLibc.PROT_READ | LinuxLibc.PROT_WRITE,
                            LinuxLibc.MAP_SHARED | LinuxLibc.MAP_NORESERVE, fd, 0);
                    regions.add(new MemoryRegion(range.guestAddress(), mapping, fd, 0));
                } catch (RuntimeException e) {
                    LinuxLibc.close(fd);
                    throw e;
                }
            }
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

    private static void release(List<MemoryRegion> regions) {
        for (MemoryRegion r : regions) {
            LinuxLibc.munmap(r.segment());
            LinuxLibc.close(r.fd());
        }
    }
}
