package org.jvmm.x86.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.kvm.KvmIoctl;
import org.jvmm.x86.cpu.CpuidEntry;
import org.jvmm.x86.cpu.DescriptorTable;
import org.jvmm.x86.cpu.Segment;
import org.jvmm.x86.cpu.X86Registers;
import org.jvmm.x86.cpu.X86SpecialRegisters;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The x86-only part of the KVM API, per {@code <asm/kvm.h>} (arch/x86/include/uapi/asm/kvm.h) and
 * Documentation/virt/kvm/api.rst: register, FPU, MSR and CPUID structures and the ioctls that move them,
 * plus the x86 VM set-up calls (TSS and identity-map addresses, the in-kernel PIT).
 *
 * <p>Struct layouts are written out as offsets, each with its C declaration, because the kernel's ABI is
 * those offsets.
 */
public final class KvmX86Binding {

    private KvmX86Binding() {}

    // kvm_regs: 18 u64 in the order rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags.
    static final long KVM_REGS_SIZE = 144;
    // kvm_sregs: 8 kvm_segment (24 bytes) cs ds es fs gs ss tr ldt; kvm_dtable gdt, idt (16 bytes);
    // u64 cr0 cr2 cr3 cr4 cr8 efer apic_base; u64 interrupt_bitmap[4].
    static final long KVM_SREGS_SIZE = 312;
    // kvm_fpu: fpr[8][16], u16 fcw @128, fsw, u8 ftwx, pad, u16 last_opcode, u64 last_ip, last_dp,
    // xmm[16][16] @152, u32 mxcsr @408, pad: 416 bytes.
    static final long KVM_FPU_SIZE = 416;
    // kvm_cpuid_entry2: function, index, flags, eax, ebx, ecx, edx, padding[3]: 40 bytes.
    static final long CPUID_ENTRY_SIZE = 40;

    public static final long KVM_GET_SUPPORTED_CPUID = KvmIoctl.iowr(0x05, 8);
    public static final long KVM_SET_TSS_ADDR = KvmIoctl.io(0x47);
    public static final long KVM_SET_IDENTITY_MAP_ADDR = KvmIoctl.iow(0x48, 8);
    public static final long KVM_CREATE_PIT2 = KvmIoctl.iow(0x77, 64);
    public static final long KVM_GET_REGS = KvmIoctl.ior(0x81, KVM_REGS_SIZE);
    public static final long KVM_SET_REGS = KvmIoctl.iow(0x82, KVM_REGS_SIZE);
    public static final long KVM_GET_SREGS = KvmIoctl.ior(0x83, KVM_SREGS_SIZE);
    public static final long KVM_SET_SREGS = KvmIoctl.iow(0x84, KVM_SREGS_SIZE);
    public static final long KVM_SET_MSRS = KvmIoctl.iow(0x89, 8);
    public static final long KVM_GET_FPU = KvmIoctl.ior(0x8c, KVM_FPU_SIZE);
    public static final long KVM_SET_FPU = KvmIoctl.iow(0x8d, KVM_FPU_SIZE);
    public static final long KVM_SET_CPUID2 = KvmIoctl.iow(0x90, 8);
    public static final long KVM_GET_MP_STATE = KvmIoctl.ior(0x98, 4);
    public static final long KVM_SET_MP_STATE = KvmIoctl.iow(0x99, 4);

    /** {@code kvm_pit_config.flags}: emulate the PC speaker port (0x61) as a dummy, as Linux expects it to exist. */
    public static final int KVM_PIT_SPEAKER_DUMMY = 1;

    /** The most CPUID entries any current KVM reports is well under this; the call grows it on E2BIG anyway. */
    private static final int INITIAL_CPUID_ENTRIES = 256;

    // ---------------------------------------------------------------- system and VM ioctls

    /** {@code KVM_GET_SUPPORTED_CPUID} on {@code /dev/kvm}: what KVM can give a guest. */
    public static List<CpuidEntry> supportedCpuid(int kvmFd) {
        for (int n = INITIAL_CPUID_ENTRIES; ; n *= 2) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment c = a.allocate(8 + n * CPUID_ENTRY_SIZE, 8); // struct kvm_cpuid2 { nent; padding; entries[] }
                c.set(JAVA_INT, 0, n);
                try {
                    KvmIoctl.call(kvmFd, "KVM_GET_SUPPORTED_CPUID", KVM_GET_SUPPORTED_CPUID, c);
                } catch (SysException e) {
                    if (e.errno() == Errno.E2BIG && n < 1 << 16) continue;
                    throw e;
                }
                int count = Math.min(c.get(JAVA_INT, 0), n);
                List<CpuidEntry> out = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    long o = 8 + i * CPUID_ENTRY_SIZE;
                    out.add(new CpuidEntry(c.get(JAVA_INT, o), c.get(JAVA_INT, o + 4), c.get(JAVA_INT, o + 8),
                            c.get(JAVA_INT, o + 12), c.get(JAVA_INT, o + 16), c.get(JAVA_INT, o + 20), c.get(JAVA_INT, o + 24)));
                }
                return List.copyOf(out);
            }
        }
    }

    /** {@code KVM_SET_TSS_ADDR}: three pages of guest-physical space KVM uses for real-mode emulation on Intel. */
    public static void setTssAddress(int vmFd, long address) {
        KvmIoctl.call(vmFd, "KVM_SET_TSS_ADDR", KVM_SET_TSS_ADDR, address);
    }

    /** {@code KVM_SET_IDENTITY_MAP_ADDR}: one page for the EPT identity map Intel needs without unrestricted guest. */
    public static void setIdentityMapAddress(int vmFd, long address) {
        try (Arena a = Arena.ofConfined()) {
            KvmIoctl.call(vmFd, "KVM_SET_IDENTITY_MAP_ADDR", KVM_SET_IDENTITY_MAP_ADDR, a.allocateFrom(JAVA_LONG, address));
        }
    }

    /** {@code KVM_CREATE_PIT2}: the in-kernel i8254 timer (needs the in-kernel irqchip first). */
    public static void createPit2(int vmFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment config = a.allocate(64, 4); // struct kvm_pit_config { u32 flags; u32 pad[15]; }
            config.set(JAVA_INT, 0, KVM_PIT_SPEAKER_DUMMY);
            KvmIoctl.call(vmFd, "KVM_CREATE_PIT2", KVM_CREATE_PIT2, config);
        }
    }

    // ---------------------------------------------------------------- vCPU ioctls

    /** {@code KVM_GET_REGS}. */
    public static X86Registers getRegisters(int vcpuFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(KVM_REGS_SIZE, 8);
            KvmIoctl.call(vcpuFd, "KVM_GET_REGS", KVM_GET_REGS, r);
            long[] v = r.toArray(JAVA_LONG);
            return new X86Registers(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
                    v[12], v[13], v[14], v[15], v[16], v[17]);
        }
    }

    /** {@code KVM_SET_REGS}. */
    public static void setRegisters(int vcpuFd, X86Registers x) {
        long[] v = {x.rax(), x.rbx(), x.rcx(), x.rdx(), x.rsi(), x.rdi(), x.rsp(), x.rbp(), x.r8(), x.r9(), x.r10(),
                x.r11(), x.r12(), x.r13(), x.r14(), x.r15(), x.rip(), x.rflags()};
        try (Arena a = Arena.ofConfined()) {
            KvmIoctl.call(vcpuFd, "KVM_SET_REGS", KVM_SET_REGS, a.allocateFrom(JAVA_LONG, v));
        }
    }

    /** {@code KVM_GET_SREGS} (the pending-interrupt bitmap is dropped: jvmm never uses it). */
    public static X86SpecialRegisters getSpecialRegisters(int vcpuFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KVM_SREGS_SIZE, 8);
            KvmIoctl.call(vcpuFd, "KVM_GET_SREGS", KVM_GET_SREGS, s);
            return new X86SpecialRegisters(segment(s, 0), segment(s, 1), segment(s, 2), segment(s, 3),
                    segment(s, 4), segment(s, 5), segment(s, 6), segment(s, 7), table(s, 192), table(s, 208),
                    s.get(JAVA_LONG, 224), s.get(JAVA_LONG, 232), s.get(JAVA_LONG, 240), s.get(JAVA_LONG, 248),
                    s.get(JAVA_LONG, 256), s.get(JAVA_LONG, 264), s.get(JAVA_LONG, 272));
        }
    }

    /** {@code KVM_SET_SREGS}, with an empty pending-interrupt bitmap. */
    public static void setSpecialRegisters(int vcpuFd, X86SpecialRegisters r) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KVM_SREGS_SIZE, 8);
            Segment[] segs = {r.cs(), r.ds(), r.es(), r.fs(), r.gs(), r.ss(), r.tr(), r.ldt()};
            for (int i = 0; i < segs.length; i++) putSegment(s, i, segs[i]);
            putTable(s, 192, r.gdt());
            putTable(s, 208, r.idt());
            long[] control = {r.cr0(), r.cr2(), r.cr3(), r.cr4(), r.cr8(), r.efer(), r.apicBase()};
            for (int i = 0; i < control.length; i++) s.set(JAVA_LONG, 224 + 8L * i, control[i]);
            KvmIoctl.call(vcpuFd, "KVM_SET_SREGS", KVM_SET_SREGS, s);
        }
    }

    // kvm_segment: u64 base; u32 limit; u16 selector; u8 type, present, dpl, db, s, l, g, avl, unusable, padding.
    private static Segment segment(MemorySegment s, int index) {
        long o = 24L * index;
        return new Segment(s.get(JAVA_LONG, o), s.get(JAVA_INT, o + 8), Short.toUnsignedInt(s.get(JAVA_SHORT, o + 12)),
                s.get(JAVA_BYTE, o + 14), s.get(JAVA_BYTE, o + 15) != 0, s.get(JAVA_BYTE, o + 16),
                s.get(JAVA_BYTE, o + 17) != 0, s.get(JAVA_BYTE, o + 18) != 0, s.get(JAVA_BYTE, o + 19) != 0,
                s.get(JAVA_BYTE, o + 20) != 0, s.get(JAVA_BYTE, o + 21) != 0, s.get(JAVA_BYTE, o + 22) != 0);
    }

    private static void putSegment(MemorySegment s, int index, Segment g) {
        long o = 24L * index;
        s.set(JAVA_LONG, o, g.base());
        s.set(JAVA_INT, o + 8, g.limit());
        s.set(JAVA_SHORT, o + 12, (short) g.selector());
        s.set(JAVA_BYTE, o + 14, (byte) g.type());
        s.set(JAVA_BYTE, o + 15, flag(g.present()));
        s.set(JAVA_BYTE, o + 16, (byte) g.dpl());
        s.set(JAVA_BYTE, o + 17, flag(g.db()));
        s.set(JAVA_BYTE, o + 18, flag(g.s()));
        s.set(JAVA_BYTE, o + 19, flag(g.l()));
        s.set(JAVA_BYTE, o + 20, flag(g.g()));
        s.set(JAVA_BYTE, o + 21, flag(g.avl()));
        s.set(JAVA_BYTE, o + 22, flag(g.unusable()));
    }

    private static byte flag(boolean b) {
        return (byte) (b ? 1 : 0);
    }

    // kvm_dtable: u64 base; u16 limit; u16 padding[3].
    private static DescriptorTable table(MemorySegment s, long o) {
        return new DescriptorTable(s.get(JAVA_LONG, o), Short.toUnsignedInt(s.get(JAVA_SHORT, o + 8)));
    }

    private static void putTable(MemorySegment s, long o, DescriptorTable t) {
        s.set(JAVA_LONG, o, t.base());
        s.set(JAVA_SHORT, o + 8, (short) t.limit());
    }

    /** {@code KVM_SET_FPU} with the power-on x87 control word 0x37f and MXCSR 0x1f80, everything else zero. */
    public static void resetFpu(int vcpuFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(KVM_FPU_SIZE, 8);
            f.set(JAVA_SHORT, 128, (short) 0x37f);
            f.set(JAVA_INT, 408, 0x1f80);
            KvmIoctl.call(vcpuFd, "KVM_SET_FPU", KVM_SET_FPU, f);
        }
    }

    /** {@code KVM_SET_MSRS}; fails unless KVM accepted every one. */
    public static void setMsrs(int vcpuFd, Map<Integer, Long> msrs) {
        try (Arena a = Arena.ofConfined()) {
            // struct kvm_msrs { u32 nmsrs; u32 pad; struct kvm_msr_entry { u32 index; u32 reserved; u64 data; } entries[]; }
            MemorySegment m = a.allocate(8 + 16L * msrs.size(), 8);
            m.set(JAVA_INT, 0, msrs.size());
            int i = 0;
            for (Map.Entry<Integer, Long> e : msrs.entrySet()) {
                m.set(JAVA_INT, 8 + 16L * i, e.getKey());
                m.set(JAVA_LONG, 16 + 16L * i, e.getValue());
                i++;
            }
            int set = KvmIoctl.call(vcpuFd, "KVM_SET_MSRS", KVM_SET_MSRS, m);
            if (set != msrs.size()) {
                int bad = m.get(JAVA_INT, 8 + 16L * set);
                throw new SysException("KVM_SET_MSRS: MSR 0x" + Integer.toHexString(bad) + " was refused", Errno.EINVAL,
                        "EINVAL", "KVM accepted " + set + " of " + msrs.size() + " MSRs");
            }
        }
    }

    /** {@code KVM_SET_CPUID2}. */
    public static void setCpuid(int vcpuFd, List<CpuidEntry> entries) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(8 + entries.size() * CPUID_ENTRY_SIZE, 8);
            c.set(JAVA_INT, 0, entries.size());
            for (int i = 0; i < entries.size(); i++) {
                CpuidEntry e = entries.get(i);
                long o = 8 + i * CPUID_ENTRY_SIZE;
                int[] v = {e.function(), e.index(), e.flags(), e.eax(), e.ebx(), e.ecx(), e.edx()};
                for (int k = 0; k < v.length; k++) c.set(JAVA_INT, o + 4L * k, v[k]);
            }
            KvmIoctl.call(vcpuFd, "KVM_SET_CPUID2", KVM_SET_CPUID2, c);
        }
    }

    /** {@code KVM_GET_MP_STATE}: 0 runnable, 1 uninitialized (an AP waiting for INIT/SIPI), 3 halted ... */
    public static int getMpState(int vcpuFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(ValueLayout.JAVA_INT);
            KvmIoctl.call(vcpuFd, "KVM_GET_MP_STATE", KVM_GET_MP_STATE, s);
            return s.get(JAVA_INT, 0);
        }
    }

    /** {@code KVM_SET_MP_STATE}. */
    public static void setMpState(int vcpuFd, int state) {
        try (Arena a = Arena.ofConfined()) {
            KvmIoctl.call(vcpuFd, "KVM_SET_MP_STATE", KVM_SET_MP_STATE, a.allocateFrom(JAVA_INT, state));
        }
    }
}
