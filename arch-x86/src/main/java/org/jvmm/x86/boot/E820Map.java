package org.jvmm.x86.boot;

import java.util.ArrayList;
import java.util.List;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.x86.X86Layout;

/** Builds the e820 map of a jvmm x86 machine from {@link X86Layout}: the kernel's view of RAM. */
public final class E820Map {

    private E820Map() {}

    /**
     * The map for {@code memoryBytes} of RAM, sorted and non-overlapping: low RAM below the EBDA, the
     * reserved BIOS/ACPI area up to 1 MiB, RAM from 1 MiB to the 32-bit hole, and the RAM relocated
     * above 4 GiB. It describes exactly the RAM of {@link X86Layout#ramRanges(long)}, less the reserved area.
     */
    public static List<E820Entry> of(long memoryBytes) {
        if (memoryBytes < X86Layout.MIN_MEMORY) {
            throw new IllegalArgumentException("memory below the minimum: " + memoryBytes);
        }
        List<E820Entry> map = new ArrayList<>();
        map.add(new E820Entry(0, X86Layout.EBDA_START, E820Entry.RAM));
        map.add(new E820Entry(X86Layout.EBDA_START, X86Layout.HIGH_RAM_START - X86Layout.EBDA_START, E820Entry.RESERVED));
        for (MemoryRange r : X86Layout.ramRanges(memoryBytes)) {
            long start = Math.max(r.guestAddress(), X86Layout.HIGH_RAM_START);
            if (r.end() > start) map.add(new E820Entry(start, r.end() - start, E820Entry.RAM));
        }
        return List.copyOf(map);
    }
}
