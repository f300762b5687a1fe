package org.jvmm.x86;

import java.util.ArrayList;
import java.util.List;
import org.jvmm.core.memory.MemoryRange;

/**
 * The guest-physical memory map of a jvmm x86-64 machine: every address jvmm itself chooses, each with
 * the reason it is where it is. Nothing else in the x86 code may invent a guest address.
 *
 * <pre>
 * 0x0000_0000  real-mode IVT and BIOS data area (RAM, left alone: Linux reads the BDA for the EBDA)
 * 0x0000_0500  GDT, then the (empty) IDT
 * 0x0000_6000  PVH hvm_start_info, module list and memory map (ELF vmlinux with a PVH note)
 * 0x0000_7000  zero page (struct boot_params)
 * 0x0000_8ff0  top of the boot stack (grows down from just below the page tables)
 * 0x0000_9000  PML4, PDPT, 4 page directories: identity map of [0, 4 GiB) with 2 MiB pages
 * 0x0002_0000  kernel command line (up to 64 KiB)
 * 0x0009_fc00  EBDA start: from here to 1 MiB is reserved in the e820 map
 * 0x000e_0000  ACPI tables, RSDP first (inside the 0xe0000–0xfffff range Linux scans)
 * 0x0010_0000  kernel load address (1 MiB), or pref_address for a relocatable kernel that fits
 *   ...        RAM; the initrd sits at the top of RAM below 3 GiB (and below initrd_addr_max)
 * 0xc000_0000  32-bit MMIO hole: no RAM from 3 GiB to 4 GiB
 * 0xd000_0000  virtio-mmio window: 4 KiB slots, one per device
 * 0xfec0_0000  IOAPIC
 * 0xfee0_0000  local APIC
 * 0xfeff_c000  KVM's identity-map page and real-mode TSS (Intel hosts), 4 pages
 * 0x1_0000_0000 RAM above 3 GiB, relocated past the hole
 * </pre>
 *
 * Port I/O: COM1 0x3f8–0x3ff (IRQ 4), i8042 0x60–0x64, ACPI sleep control/status 0x600–0x601.
 * Model: Firecracker's {@code arch/x86_64/layout.rs}, whose choices Linux is known to accept.
 */
public final class X86Layout {

    private X86Layout() {}

    private static final long KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

    // ---- low memory: boot structures -------------------------------------------------------------

    /**
     * The GDT. 0x500 is the first byte after the BIOS data area (0x400–0x4ff) that no real-mode
     * convention claims, and the kernel copies nothing from here: it loads its own GDT at once.
     */
    public static final long GDT = 0x500;
    /** GDT entries: null, null, code 0x10, data 0x18, 64-bit TSS (16 bytes) at 0x20. */
    public static final int GDT_SIZE = 0x30;
    /** An empty IDT just after the GDT: interrupts stay off until the kernel loads its own. */
    public static final long IDT = GDT + GDT_SIZE;
    /** An 8-byte IDT (one null gate), as Firecracker gives: any exception before the kernel's IDT triple-faults. */
    public static final int IDT_SIZE = 8;
    /** A zeroed 104-byte 64-bit TSS the task register points at, because VMX entry requires a usable TR. */
    public static final long TSS = 0x600;
    /** The minimum 64-bit TSS size (Intel SDM vol. 3 §8.7). */
    public static final int TSS_SIZE = 0x68;

    /**
     * PVH boot: the {@code hvm_start_info} (56 bytes) handed to a vmlinux with a PVH entry. The page below
     * the zero page, which the two boot paths never use at the same time.
     */
    public static final long PVH_START_INFO = 0x6000;
    /** PVH boot: the module list (one 32-byte entry: the initrd), after the start info. */
    public static final long PVH_MODLIST = 0x6040;
    /** PVH boot: the memory map, after the module list, up to the zero page. */
    public static final long PVH_MEMMAP = 0x6080;
    /** Room for the PVH memory map: up to the zero page (128 entries of 24 bytes fit). */
    public static final int PVH_MEMMAP_MAX_SIZE = (int) (0x7000 - PVH_MEMMAP);

    /**
     * The zero page ({@code struct boot_params}, 4 KiB). Below 0x9fc00 and away from the IVT/BDA,
     * where kernels never load; the kernel copies it early, so it need survive only until then.
     */
    public static final long ZERO_PAGE = 0x7000;
    /** The boot stack pointer: the 64-bit protocol needs none, but a sane RSP costs nothing. 16-byte aligned. */
    public static final long BOOT_STACK_POINTER = 0x8ff0;

    /** The PML4 table (4 KiB, 4 KiB aligned as CR3 requires). */
    public static final long PML4 = 0x9000;
    /** The one PDPT: its first four entries cover 4 GiB. */
    public static final long PDPT = 0xa000;
    /** Four page directories of 512 2-MiB pages each, at 0xb000–0xefff: the identity map of [0, 4 GiB). */
    public static final long PAGE_DIRECTORIES = 0xb000;
    /**
     * How much the boot page tables identity-map: 4 GiB, so that the kernel, zero page, command line,
     * initrd (all below 3 GiB) and the MMIO hole are reachable. 2 MiB pages (not 1 GiB ones) because
     * every x86-64 CPU has them, while 1 GiB pages need the pdpe1gb CPUID bit.
     */
    public static final long IDENTITY_MAPPED = 4 * GiB;

    /** The kernel command line. Above the page tables, far below the EBDA. */
    public static final long CMDLINE = 0x20000;
    /** Room for the command line including its terminating zero; the kernel's own cmdline_size is smaller. */
    public static final int CMDLINE_MAX_SIZE = 0x10000;

    // ---- the BIOS / ACPI area --------------------------------------------------------------------

    /**
     * Where the extended BIOS data area would start: the conventional 639 KiB of low RAM. Everything
     * from here to 1 MiB (EBDA, VGA window, option ROMs, BIOS) is reserved in the e820 map.
     */
    public static final long EBDA_START = 0x9fc00;
    /**
     * Start of the ACPI tables, RSDP first. The RSDP must be at a 16-byte boundary in 0xe0000–0xfffff,
     * where the kernel searches when boot_params.acpi_rsdp_addr is absent (ACPI 6.5 §5.2.5.1).
     */
    public static final long ACPI_START = 0xe0000;
    /** The RSDP itself: the first thing in the ACPI area, so also what acpi_rsdp_addr names. */
    public static final long RSDP = ACPI_START;
    /** End (exclusive) of the ACPI area: the top of the BIOS region, 128 KiB for all tables. */
    public static final long ACPI_END = 0x100000;

    // ---- the kernel and initrd -------------------------------------------------------------------

    /** 1 MiB: where a bzImage's protected-mode code goes (boot.rst: "loaded at 0x100000"). */
    public static final long KERNEL_LOAD = 0x100000;
    /** The first RAM byte above the reserved BIOS area, where the high e820 RAM range begins. */
    public static final long HIGH_RAM_START = 0x100000;
    /** Initrd placement granularity: pages, as boot.rst recommends ("page aligned"). */
    public static final long INITRD_ALIGN = 4 * KiB;

    // ---- the 32-bit hole and what sits in it -----------------------------------------------------

    /**
     * The start of the 32-bit MMIO hole: RAM stops at 3 GiB so that 32-bit devices (virtio-mmio, IOAPIC,
     * LAPIC) have addresses below 4 GiB; RAM beyond 3 GiB continues at {@link #HIGH_MEMORY_START}.
     */
    public static final long MMIO_HOLE_START = 3 * GiB;
    /** The end of the hole and the start of relocated RAM: 4 GiB. */
    public static final long HIGH_MEMORY_START = 4 * GiB;

    /** The first virtio-mmio slot: the start of Firecracker's MMIO window, well inside the hole. */
    public static final long VIRTIO_MMIO_BASE = 0xd000_0000L;
    /** One virtio-mmio register window: 4 KiB (the register block is 0x100 + config, page-sized for mapping). */
    public static final long VIRTIO_MMIO_SLOT_SIZE = 4 * KiB;
    /**
     * The first GSI virtio devices may use: 5, so the ISA lines below (timer 0/2, keyboard 1, COM2/COM1 3/4)
     * stay with their legacy owners.
     */
    public static final int VIRTIO_FIRST_GSI = 5;
    /** The IOAPIC has 24 pins (KVM's in-kernel IOAPIC): GSIs 5..23 give 19 virtio devices. */
    public static final int IOAPIC_PINS = 24;
    /** How many virtio-mmio slots there are: one per free GSI. */
    public static final int VIRTIO_MMIO_SLOTS = IOAPIC_PINS - VIRTIO_FIRST_GSI;

    /** The IOAPIC's register window: the PC-standard address, which KVM's in-kernel IOAPIC decodes. */
    public static final long IOAPIC = 0xfec0_0000L;
    /** The local APIC's register window: the architectural reset value of IA32_APIC_BASE. */
    public static final long LAPIC = 0xfee0_0000L;

    /**
     * The page KVM needs for its EPT identity map on Intel hosts (KVM_SET_IDENTITY_MAP_ADDR). In the hole,
     * above the IOAPIC and LAPIC windows, where QEMU puts it: nothing of the guest's lives there.
     */
    public static final long KVM_IDENTITY_MAP = 0xfeff_c000L;
    /** The three pages of KVM's real-mode TSS on Intel hosts (KVM_SET_TSS_ADDR), right after the identity map. */
    public static final long KVM_TSS = 0xfeff_d000L;

    // ---- port I/O --------------------------------------------------------------------------------

    /** COM1's eight registers (PC standard). */
    public static final int COM1_PORT = 0x3f8;
    /** COM1's ISA interrupt (PC standard), identity-mapped to GSI 4. */
    public static final int COM1_GSI = 4;
    /** The i8042's data port; the status/command port is {@link #I8042_COMMAND_PORT}. */
    public static final int I8042_DATA_PORT = 0x60;
    /** The i8042's status (read) and command (write) port; 0xfe written here is the PC reset. */
    public static final int I8042_COMMAND_PORT = 0x64;
    /**
     * The ACPI hardware-reduced sleep control (0x600) and sleep status (0x601) registers, named by the
     * FADT. 0x600 is outside the ISA range (< 0x400) and far from PCI configuration ports (0xcf8); it
     * is where QEMU's ICH9 puts its ACPI PM block, so it is a familiar place to look.
     */
    public static final int ACPI_SLEEP_PORT = 0x600;
    /** The two byte-wide sleep registers: control, then status. */
    public static final int ACPI_SLEEP_PORT_LENGTH = 2;

    // ---- derived quantities ----------------------------------------------------------------------

    /** The smallest guest RAM jvmm accepts: room for a kernel, its decompression and an initrd. */
    public static final long MIN_MEMORY = 64 * MiB;
    /** The largest: 1 TiB, far beyond anything this machine can back, and well inside 48-bit addresses. */
    public static final long MAX_MEMORY = 1024 * GiB;

    /**
     * Where {@code memoryBytes} of RAM go: from 0 up to 3 GiB, the rest from 4 GiB. Guest memory regions
     * and the e820 map are both derived from this, so they always agree.
     */
    public static List<MemoryRange> ramRanges(long memoryBytes) {
        List<MemoryRange> ranges = new ArrayList<>(2);
        ranges.add(new MemoryRange(0, Math.min(memoryBytes, MMIO_HOLE_START)));
        if (memoryBytes > MMIO_HOLE_START) {
            ranges.add(new MemoryRange(HIGH_MEMORY_START, memoryBytes - MMIO_HOLE_START));
        }
        return List.copyOf(ranges);
    }

    /** The end (exclusive) of RAM below the hole: where the kernel and initrd must fit. */
    public static long lowRamEnd(long memoryBytes) {
        return Math.min(memoryBytes, MMIO_HOLE_START);
    }

    /** The guest-physical base of virtio-mmio slot {@code slot} (0-based). */
    public static long virtioMmioSlot(int slot) {
        checkSlot(slot);
        return VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_SLOT_SIZE;
    }

    /** The GSI of virtio-mmio slot {@code slot}. */
    public static int virtioGsi(int slot) {
        checkSlot(slot);
        return VIRTIO_FIRST_GSI + slot;
    }

    private static void checkSlot(int slot) {
        if (slot < 0 || slot >= VIRTIO_MMIO_SLOTS) {
            throw new IllegalArgumentException("virtio-mmio slot " + slot + " outside 0.." + (VIRTIO_MMIO_SLOTS - 1));
        }
    }
}
