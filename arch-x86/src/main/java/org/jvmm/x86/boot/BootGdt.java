package org.jvmm.x86.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.jvmm.x86.X86Layout;
import org.jvmm.x86.cpu.Segment;

/**
 * The boot GDT of the 64-bit boot protocol. boot.rst ("64-bit Boot Protocol") requires a GDT with
 * __BOOT_CS (selector 0x10) execute/read and __BOOT_DS (0x18) read/write, both flat; 0x08, unused by
 * that protocol, holds the flat 32-bit code segment of the PVH entry, and a 64-bit TSS descriptor at 0x20
 * backs the task register.
 */
public final class BootGdt {

    private BootGdt() {}

    /** A flat 32-bit code segment for the PVH entry (the 64-bit protocol leaves 0x08 unused). */
    public static final int CODE32_SELECTOR = 0x08;
    /** __BOOT_CS. */
    public static final int CODE_SELECTOR = 0x10;
    /** __BOOT_DS. */
    public static final int DATA_SELECTOR = 0x18;
    /** The TSS (a 16-byte system descriptor in long mode). */
    public static final int TSS_SELECTOR = 0x20;

    /** 32-bit code: present, DPL 0, execute/read accessed, D=1, 4 KiB granularity, limit 0xfffff. */
    public static final long CODE_32 = descriptor(0, 0xfffff, 0xc09b);
    /** 64-bit code: present, DPL 0, execute/read accessed (type 0xb), L=1, D=0, 4 KiB granularity, limit 0xfffff. */
    public static final long CODE_64 = descriptor(0, 0xfffff, 0xa09b);
    /** Flat data: present, DPL 0, read/write accessed (type 3), D/B=1, 4 KiB granularity, limit 0xfffff. */
    public static final long DATA = descriptor(0, 0xfffff, 0xc093);
    /** The low half of the TSS descriptor: present, type 0xb (busy 64-bit TSS), byte granularity. */
    public static final long TSS_LOW = descriptor(X86Layout.TSS, X86Layout.TSS_SIZE - 1, 0x008b);

    /** The GDT image ({@link X86Layout#GDT_SIZE} bytes) to write at {@link X86Layout#GDT}. */
    public static byte[] bytes() {
        ByteBuffer b = ByteBuffer.allocate(X86Layout.GDT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0).putLong(CODE_32).putLong(CODE_64).putLong(DATA).putLong(TSS_LOW).putLong(X86Layout.TSS >>> 32);
        return b.array();
    }

    /** The code segment register as the CPU caches it after loading {@link #CODE_SELECTOR}. */
    public static Segment code() { return Segment.fromGdtEntry(CODE_SELECTOR, CODE_64); }

    /** The code segment register's cache for a PVH entry. */
    public static Segment code32() { return Segment.fromGdtEntry(CODE32_SELECTOR, CODE_32); }

    /** The data segment registers' cache. */
    public static Segment data() { return Segment.fromGdtEntry(DATA_SELECTOR, DATA); }

    /** The task register's cache. */
    public static Segment tss() { return Segment.fromGdtEntry(TSS_SELECTOR, TSS_LOW); }

    /**
     * A GDT entry. {@code flags} packs the access byte (bits 0–7) and the flags nibble G/DB/L/AVL (bits 12–15),
     * as in the kernel's GDT_ENTRY macro.
     */
    static long descriptor(long base, long limit, int flags) {
        return ((base & 0xff000000L) << 32) | (((long) flags & 0xf0ff) << 40) | ((limit & 0xf0000L) << 32)
                | ((base & 0x00ffffffL) << 16) | (limit & 0xffffL);
    }
}
