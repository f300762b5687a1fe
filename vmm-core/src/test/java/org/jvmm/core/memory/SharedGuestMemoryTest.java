package org.jvmm.core.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.core.sys.SysException;
import org.junit.jupiter.api.Test;

class SharedGuestMemoryTest {

    @Test
    void regionsAreSharedMemfdsThatAnotherMappingSees() {
        try (GuestMemory mem = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 0x10000),
                new MemoryRange(0x100000, 0x2000)))) {
            assertEquals(2, mem.regions().size());
            MemoryRegion high = mem.regions().get(1);
            assertTrue(high.fd() >= 0);
            mem.write64(0x101008, 0xfeedfacecafebeefL);
            // What a helper process does with the descriptor it receives: map it and see the guest's bytes.
            MemorySegment helperView = LinuxLibc.mmap(0x2000, LinuxLibc.PROT_READ, LinuxLibc.MAP_SHARED, high.fd(), 0);
            try {
                assertEquals(0xfeedfacecafebeefL, helperView.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x1008));
            } finally {
                LinuxLibc.munmap(helperView);
            }
            assertEquals(0, mem.read32(0xfffc), "fresh memory reads as zero");
        }
    }

    @Test
    void closeReleasesDescriptorsOnce() {
        GuestMemory mem = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 0x1000)));
        int fd = mem.regions().getFirst().fd();
        mem.close();
        mem.close(); // idempotent
        SysException e = assertThrows(SysException.class, () -> LinuxLibc.fcntl(fd, LinuxLibc.F_GETFD, 0));
        assertEquals(Errno.EBADF, e.errno());
    }

    @Test
    void alignedRegionsStartOnTheBoundaryAndMapTheirFileAtTheirOffset() {
        long align = 16 * 1024;
        // Several allocations: a 4 KiB-aligned mapping lands on a 16 KiB boundary only one time in four by chance.
        for (int i = 0; i < 8; i++) {
            try (GuestMemory mem = SharedGuestMemory.allocate(List.of(new MemoryRange(0x4000, 0x8000)), align)) {
                MemoryRegion r = mem.regions().getFirst();
                assertEquals(0, r.segment().address() % align, "host address 0x" + Long.toHexString(r.segment().address()));
                assertEquals(0x8000, r.size());
                mem.write64(0x4000 + 0x7ff8, 0x1122334455667788L);
                MemorySegment helperView = LinuxLibc.mmap(0x8000, LinuxLibc.PROT_READ, LinuxLibc.MAP_SHARED, r.fd(), r.fdOffset());
                try {
                    assertEquals(0x1122334455667788L, helperView.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x7ff8),
                            "a helper mapping the descriptor at the region's offset sees the guest's bytes");
                } finally {
                    LinuxLibc.munmap(helperView);
                }
            }
        }
    }

    @Test
    void overlappingRangesAreRejectedWithoutLeaking() {
        assertThrows(IllegalArgumentException.class, () -> SharedGuestMemory.allocate(
                List.of(new MemoryRange(0, 0x2000), new MemoryRange(0x1000, 0x1000))));
        assertThrows(IllegalArgumentException.class, () -> new MemoryRange(0x800, 0x1000));
        assertThrows(IllegalArgumentException.class, () -> new MemoryRange(0, 0));
    }
}
