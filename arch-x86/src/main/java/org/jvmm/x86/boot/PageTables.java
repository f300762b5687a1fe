package org.jvmm.x86.boot;

import org.jvmm.core.memory.GuestMemory;
import org.jvmm.x86.X86Layout;

/**
 * The identity page tables for long-mode entry: [0, {@link X86Layout#IDENTITY_MAPPED}) mapped 1:1 with
 * 2 MiB pages (PML4 → one PDPT → four page directories), writable, supervisor-only, cacheable.
 * The kernel replaces them with its own as soon as it runs; they only need to cover what it touches first.
 */
public final class PageTables {

    private PageTables() {}

    private static final long PRESENT = 1, WRITABLE = 2, PAGE_SIZE_2M = 0x80;
    private static final long TWO_MIB = 2L << 20;

    /** Writes the tables at {@link X86Layout#PML4}; CR3 must then be {@link X86Layout#PML4}. */
    public static void write(GuestMemory memory) {
        memory.write(X86Layout.PML4, new byte[4096]);
        memory.write(X86Layout.PDPT, new byte[4096]);
        memory.write64(X86Layout.PML4, X86Layout.PDPT | PRESENT | WRITABLE);
        int directories = (int) (X86Layout.IDENTITY_MAPPED >>> 30);
        for (int d = 0; d < directories; d++) {
            long pd = X86Layout.PAGE_DIRECTORIES + d * 4096L;
            memory.write64(X86Layout.PDPT + d * 8L, pd | PRESENT | WRITABLE);
            for (int i = 0; i < 512; i++) {
                long address = ((long) d << 30) + i * TWO_MIB;
                memory.write64(pd + i * 8L, address | PRESENT | WRITABLE | PAGE_SIZE_2M);
            }
        }
    }
}
