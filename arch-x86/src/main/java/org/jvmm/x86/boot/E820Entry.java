package org.jvmm.x86.boot;

/**
 * One entry of the BIOS e820 memory map the kernel reads from the zero page ({@code struct boot_e820_entry}).
 *
 * @param address first byte
 * @param size    length in bytes (non-zero)
 * @param type    {@link #RAM}, {@link #RESERVED} or {@link #ACPI}
 */
public record E820Entry(long address, long size, int type) {

    /** Usable RAM. */
    public static final int RAM = 1;
    /** Not to be used by the OS (BIOS area, holes). */
    public static final int RESERVED = 2;
    /** ACPI tables the OS may reclaim after reading them. */
    public static final int ACPI = 3;

    /** Bytes per entry in the zero page: u64 address, u64 size, u32 type. */
    public static final int BYTES = 20;

    public E820Entry {
        if (size <= 0) throw new IllegalArgumentException("empty e820 entry at 0x" + Long.toHexString(address));
    }

    /** The first byte after the entry. */
    public long end() { return address + size; }
}
