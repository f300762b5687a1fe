package org.jvmm.x86.boot;

import org.jvmm.x86.X86Layout;
import org.jvmm.x86.cpu.DescriptorTable;
import org.jvmm.x86.cpu.Segment;
import org.jvmm.x86.cpu.X86Registers;
import org.jvmm.x86.cpu.X86SpecialRegisters;

/**
 * The CPU state in which the 64-bit boot protocol (boot.rst, "64-bit Boot Protocol") enters a kernel:
 * long mode with paging on an identity map, the boot GDT's flat segments, interrupts off, RSI pointing
 * at the zero page. Pure values: the platform hands them to the vCPU.
 */
public final class BootRegisters {

    private BootRegisters() {}

    /** CR0.PE: protected mode. */
    public static final long CR0_PE = 1L;
    /** CR0.ET: hard-wired to 1 on every CPU since the 486; set so the value reads back as written. */
    public static final long CR0_ET = 1L << 4;
    /** CR0.PG: paging (long mode requires it). */
    public static final long CR0_PG = 1L << 31;
    /** CR4.PAE: long mode requires physical-address extension. */
    public static final long CR4_PAE = 1L << 5;
    /** EFER.LME: long mode enable. */
    public static final long EFER_LME = 1L << 8;
    /** EFER.LMA: long mode active (what the CPU sets once paging is on with LME). */
    public static final long EFER_LMA = 1L << 10;
    /** IA32_APIC_BASE: the xAPIC global enable bit. */
    public static final long APIC_BASE_ENABLE = 1L << 11;
    /** IA32_APIC_BASE: this CPU is the bootstrap processor. */
    public static final long APIC_BASE_BSP = 1L << 8;

    /** The general registers: RIP = {@code entry}, RSI = the zero page, RFLAGS = 2 (IF clear). */
    public static X86Registers general(long entry) {
        return X86Registers.RESET.withRip(entry).withRsi(X86Layout.ZERO_PAGE)
                .withRsp(X86Layout.BOOT_STACK_POINTER).withRbp(X86Layout.BOOT_STACK_POINTER);
    }

    /**
     * The special registers for a PVH entry (Xen docs/misc/pvh.pandoc): 32-bit protected mode without
     * paging, flat 32-bit code and data segments, a 32-bit busy TSS with base 0 and limit 0x67, CR4 = 0.
     */
    public static X86SpecialRegisters pvhSpecial() {
        Segment code = BootGdt.code32();
        Segment data = BootGdt.data();
        Segment tr = new Segment(0, 0x67, BootGdt.TSS_SELECTOR, 0xb, true, 0, false, false, false, false, false, false);
        Segment ldt = new Segment(0, 0, 0, 2, false, 0, false, false, false, false, false, true);
        return new X86SpecialRegisters(code, data, data, data, data, data, tr, ldt,
                new DescriptorTable(X86Layout.GDT, X86Layout.GDT_SIZE - 1),
                new DescriptorTable(X86Layout.IDT, X86Layout.IDT_SIZE - 1),
                CR0_PE | CR0_ET, 0, 0, 0, 0, 0, X86Layout.LAPIC | APIC_BASE_ENABLE | APIC_BASE_BSP);
    }

    /** The special registers of the boot CPU: long mode, paging through {@link X86Layout#PML4}, flat segments. */
    public static X86SpecialRegisters special() {
        Segment code = BootGdt.code();
        Segment data = BootGdt.data();
        Segment ldt = new Segment(0, 0, 0, 2, false, 0, false, false, false, false, false, true);
        return new X86SpecialRegisters(code, data, data, data, data, data, BootGdt.tss(), ldt,
                new DescriptorTable(X86Layout.GDT, X86Layout.GDT_SIZE - 1),
                new DescriptorTable(X86Layout.IDT, X86Layout.IDT_SIZE - 1),
                CR0_PE | CR0_ET | CR0_PG, 0, X86Layout.PML4, CR4_PAE, 0, EFER_LME | EFER_LMA,
                X86Layout.LAPIC | APIC_BASE_ENABLE | APIC_BASE_BSP);
    }
}
