package org.jvmm.x86.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The zero page, Linux's {@code struct boot_params} (arch/x86/include/uapi/asm/bootparam.h), as a
 * boot loader fills it for the 64-bit boot protocol (boot.rst, "64-bit Boot Protocol"): the kernel's
 * own setup header copied to 0x1f1, then the loader's fields written over it.
 */
public final class ZeroPage {

    /** boot_params is one 4 KiB page. */
    public static final int SIZE = 4096;

    // Offsets in struct boot_params.
    static final int ACPI_RSDP_ADDR = 0x070;
    static final int EXT_RAMDISK_IMAGE = 0x0c0;
    static final int EXT_RAMDISK_SIZE = 0x0c4;
    static final int EXT_CMD_LINE_PTR = 0x0c8;
    static final int E820_ENTRIES = 0x1e8;
    static final int SETUP_HEADER = 0x1f1;
    /** struct boot_params continues after the setup header at 0x290 (edd_mbr_sig_buffer). */
    static final int SETUP_HEADER_END = 0x290;
    static final int TYPE_OF_LOADER = 0x210;
    static final int LOADFLAGS = 0x211;
    static final int RAMDISK_IMAGE = 0x218;
    static final int RAMDISK_SIZE = 0x21c;
    static final int HEAP_END_PTR = 0x224;
    static final int CMD_LINE_PTR = 0x228;
    static final int E820_TABLE = 0x2d0;
    /** E820_MAX_ENTRIES_ZEROPAGE. */
    public static final int E820_MAX = 128;

    /** type_of_loader 0xff: "undefined" loader, what boot.rst asks of loaders without an assigned ID. */
    public static final int LOADER_UNDEFINED = 0xff;
    /** loadflags bit 7: heap_end_ptr is valid. */
    public static final int CAN_USE_HEAP = 0x80;
    /**
     * heap_end_ptr: the end of the setup heap relative to the real-mode code, minus 0x200 (boot.rst).
     * The 64-bit entry runs no setup code, but the field must be coherent with CAN_USE_HEAP: 0xfe00 is the
     * largest value a 64 KiB real-mode segment allows, what QEMU and other loaders give.
     */
    public static final int HEAP_END = 0xfe00;

    private ZeroPage() {}

    /**
     * Builds the zero page.
     *
     * @param setupHeader   the kernel's setup header, bytes from 0x1f1 (at most up to 0x290)
     * @param cmdline       guest-physical address of the zero-terminated command line
     * @param initrdAddress guest-physical address of the initrd (0 if none)
     * @param initrdSize    its size in bytes (0 if none)
     * @param e820          the memory map, at most {@link #E820_MAX} entries
     * @param rsdp          guest-physical address of the ACPI RSDP (0 if none)
     */
    public static byte[] build(byte[] setupHeader, long cmdline, long initrdAddress, long initrdSize,
                               List<E820Entry> e820, long rsdp) {
        if (setupHeader.length > SETUP_HEADER_END - SETUP_HEADER) {
            throw new IllegalArgumentException("setup header longer than struct boot_params allows: " + setupHeader.length);
        }
        if (e820.size() > E820_MAX) throw new IllegalArgumentException("too many e820 entries: " + e820.size());
        ByteBuffer p = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        p.put(SETUP_HEADER, setupHeader);
        p.put(TYPE_OF_LOADER, (byte) LOADER_UNDEFINED);
        p.put(LOADFLAGS, (byte) (p.get(LOADFLAGS) | CAN_USE_HEAP));
        p.putShort(HEAP_END_PTR, (short) HEAP_END);
        p.putInt(CMD_LINE_PTR, (int) cmdline);
        p.putInt(EXT_CMD_LINE_PTR, (int) (cmdline >>> 32));
        p.putInt(RAMDISK_IMAGE, (int) initrdAddress);
        p.putInt(EXT_RAMDISK_IMAGE, (int) (initrdAddress >>> 32));
        p.putInt(RAMDISK_SIZE, (int) initrdSize);
        p.putInt(EXT_RAMDISK_SIZE, (int) (initrdSize >>> 32));
        p.putLong(ACPI_RSDP_ADDR, rsdp);
        p.put(E820_ENTRIES, (byte) e820.size());
        for (int i = 0; i < e820.size(); i++) {
            E820Entry e = e820.get(i);
            int at = E820_TABLE + i * E820Entry.BYTES;
            p.putLong(at, e.address()).putLong(at + 8, e.size()).putInt(at + 16, e.type());
        }
        return p.array();
    }
}
