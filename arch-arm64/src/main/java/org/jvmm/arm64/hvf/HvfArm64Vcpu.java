package org.jvmm.arm64.hvf;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jvmm.arm64.Arm64CpuState;
import org.jvmm.arm64.Arm64Layout;
import org.jvmm.arm64.Arm64Vcpu;
import org.jvmm.arm64.esr.EsrDecoder;
import org.jvmm.arm64.esr.Syndrome;
import org.jvmm.core.hypervisor.VcpuExit;

/**
 * One Hypervisor.framework vCPU, bound to the platform thread that created it (hv_vcpu.h: "Must be called by
 * the owning thread"); only {@link #kick()} and {@link #wake()} come from other threads.
 *
 * <p>Exits, per hvf-arm64.md §4 (the syndrome is ESR_EL2, decoded by {@link EsrDecoder}):
 * <ul>
 *   <li>data abort with ISV → {@link VcpuExit.MmioRead}/{@link VcpuExit.MmioWrite} at the faulting IPA; the read
 *       value goes to Xt (sign-extended when SSE, cut to 32 bits unless SF) and PC moves past the access just before
 *       the next run — so the run loop never sees arm64 registers. ISV = 0 (LDP/STP, writeback, SIMD) cannot be
 *       emulated and ends in a {@link VcpuExit.Unhandled} that says so;</li>
 *   <li>HVC/SMC → {@link VcpuExit.Hypercall} with X0–X4; the completed value goes to X0; PC stays after an HVC
 *       (HVF already reports the next instruction) and advances past an SMC (§4.2, §7.12);</li>
 *   <li>trapped MSR/MRS → {@link VcpuExit.SysRegRead}/{@link VcpuExit.SysRegWrite} named after the register, so
 *       the platform decides the answer and traces and statistics show the trap; a read's value goes to Xt (all
 *       64 bits) and PC moves past the instruction just before the next run, as for MMIO;</li>
 *   <li>WFI → {@link VcpuExit.Halt} (the assembly then calls {@link #awaitInterrupt()}); WFE → just PC + 4;</li>
 *   <li>VTIMER_ACTIVATED → the virtual timer's PPI (INTID 27) is made pending in this vCPU's redistributor; HVF
 *       has masked the vtimer, and it stays masked until the guest clears the condition (ENABLE, ISTATUS and
 *       not IMASK), checked before every run (§4.4) — never unmasked while still asserted, which would storm;</li>
 *   <li>CANCELED ({@code hv_vcpus_exit}, from {@link #kick()}) → {@link VcpuExit.Canceled}.</li>
 * </ul>
 */
final class HvfArm64Vcpu implements Arm64Vcpu {

    /** The EL1 virtual timer's INTID (HV_GIC_INT_EL1_VIRTUAL_TIMER). */
    static final int VTIMER_INTID = Arm64Layout.PPI_BASE_INTID + Arm64Layout.PPI_TIMER_VIRTUAL;
    private static final long CNTV_CTL_ENABLE = 1, CNTV_CTL_IMASK = 2, CNTV_CTL_ISTATUS = 4;

    private final HvfArm64Vm vm;
    private final Hvf hvf;
    private final int id;
    private final long handle;
    private final Arena arena;          // confined to the owning thread
    private final MemorySegment exit;   // the framework's hv_vcpu_exit_t
    private final MemorySegment scratch;
    private final MemorySegment kickTarget; // hv_vcpu_t[1] for hv_vcpus_exit, GC-managed: kick() may race close()

    // What the last exit left to finish before the next run (owning thread only).
    private int pendingRegister = -1;   // Xt of an MMIO read or MRS, or 0 for a hypercall's X0
    private long pendingValue;
    private int pendingSize;            // bytes of an MMIO read; 8 for a hypercall
    private boolean pendingSignExtend, pendingSixtyFour;
    private boolean pendingAdvance;
    private boolean vtimerMasked;
    private boolean poweredOff;

    private final ReentrantLock wakeLock = new ReentrantLock();
    private final Condition woken = wakeLock.newCondition();
    private boolean wakePending;        // guarded by wakeLock
    private volatile boolean closed;

    private HvfArm64Vcpu(HvfArm64Vm vm, int id, long handle, Arena arena, MemorySegment exit, MemorySegment scratch) {
        this.vm = vm;
        this.hvf = vm.hvf();
        this.id = id;
        this.handle = handle;
        this.arena = arena;
        this.exit = exit;
        this.scratch = scratch;
        this.kickTarget = Arena.ofAuto().allocate(JAVA_LONG);
        kickTarget.set(JAVA_LONG, 0, handle);
    }

    /** Creates vCPU {@code id} on the calling thread, which owns it from now on. */
    static HvfArm64Vcpu create(HvfArm64Vm vm, int id) {
        Hvf hvf = vm.hvf();
        Arena arena = Arena.ofConfined();
        try {
            MemorySegment idOut = arena.allocate(JAVA_LONG);
            MemorySegment exitOut = arena.allocate(ValueLayout.ADDRESS);
            long handle = hvf.vcpuCreate(idOut, exitOut);
            MemorySegment exit = exitOut.get(ValueLayout.ADDRESS, 0).reinterpret(Hvf.EXIT_SIZE);
            HvfArm64Vcpu v = new HvfArm64Vcpu(vm, id, handle, arena, exit, arena.allocate(JAVA_LONG));
            // The in-kernel GIC matches redistributors by affinity (hv_gic.h), so MPIDR comes before anything runs.
            hvf.vcpuSetSysReg(handle, Hvf.HV_SYS_REG_MPIDR_EL1, Arm64Layout.mpidr(id));
            // Host ID registers pass through and an Apple host has no GIC: advertise the GICv3 system registers (§7.6).
            long pfr0 = hvf.vcpuGetSysReg(handle, Hvf.HV_SYS_REG_ID_AA64PFR0_EL1, v.scratch);
            hvf.vcpuSetSysReg(handle, Hvf.HV_SYS_REG_ID_AA64PFR0_EL1, (pfr0 & ~(0xfL << 24)) | 1L << 24);
            hvf.vcpuSetVtimerOffset(handle, vm.vtimerOffset());
            return v;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public int id() { return id; }

    @Override
    public void setEntryState(Arm64CpuState s) {
        for (int i = 0; i < 31; i++) hvf.vcpuSetReg(handle, Hvf.HV_REG_X0 + i, 0);
        hvf.vcpuSetReg(handle, Hvf.HV_REG_X0, s.x0());
        hvf.vcpuSetReg(handle, Hvf.HV_REG_X0 + 1, s.x1());
        hvf.vcpuSetReg(handle, Hvf.HV_REG_X0 + 2, s.x2());
        hvf.vcpuSetReg(handle, Hvf.HV_REG_X0 + 3, s.x3());
        hvf.vcpuSetReg(handle, Hvf.HV_REG_PC, s.pc());
        hvf.vcpuSetReg(handle, Hvf.HV_REG_CPSR, s.pstate());
        hvf.vcpuSetSysReg(handle, Hvf.HV_SYS_REG_MPIDR_EL1, s.mpidr());
        pendingRegister = -1;
        pendingAdvance = false;
        poweredOff = false;
    }

    @Override
    public void powerOff() {
        poweredOff = true;
        pendingRegister = -1;
        pendingAdvance = false;
    }

    @Override
    public long register(int n) {
        if (n < 0 || n > 30) throw new IllegalArgumentException("X" + n + " does not exist");
        return hvf.vcpuGetReg(handle, Hvf.HV_REG_X0 + n, scratch);
    }

    @Override
    public long pc() {
        return hvf.vcpuGetReg(handle, Hvf.HV_REG_PC, scratch);
    }

    @Override
    public VcpuExit run() {
        if (poweredOff) return new VcpuExit.Halt();
        for (;;) {
            finishPrevious();
            syncVtimer();
            int ret = hvf.vcpuRun(handle);
            if (ret == Hvf.HV_ILLEGAL_GUEST_STATE) return new VcpuExit.FailedEntry(Integer.toUnsignedLong(ret), dumpRegisters());
            Hvf.check("hv_vcpu_run", ret);
            int reason = exit.get(JAVA_INT, Hvf.EXIT_REASON);
            switch (reason) {
                case Hvf.HV_EXIT_REASON_CANCELED -> { return new VcpuExit.Canceled(); }
                case Hvf.HV_EXIT_REASON_VTIMER_ACTIVATED -> {
                    vtimerMasked = true;
                    hvf.gicSetRedistributorReg(handle, Hvf.HV_GIC_REG_GICR_ISPENDR0, 1L << VTIMER_INTID);
                }
                case Hvf.HV_EXIT_REASON_EXCEPTION -> {
                    VcpuExit e = exception(exit.get(JAVA_LONG, Hvf.EXIT_SYNDROME), exit.get(JAVA_LONG, Hvf.EXIT_PHYSICAL_ADDRESS));
                    if (e != null) return e;
                }
                default -> {
                    return new VcpuExit.Unhandled(reason, "Hypervisor.framework exit reason " + reason
                            + " (HV_EXIT_REASON_UNKNOWN) at PC 0x" + Long.toHexString(pc()));
                }
            }
        }
    }

    /** The exit for an EXCEPTION, or null when it was handled here and the guest simply goes on. */
    private VcpuExit exception(long syndrome, long ipa) {
        Syndrome s = EsrDecoder.decode(syndrome);
        switch (s) {
            case Syndrome.DataAbort d when d.cacheMaintenance() -> {
                pendingAdvance = true; // DC on MMIO: nothing to emulate (QEMU skips it too)
                return null;
            }
            case Syndrome.DataAbort d when d.isv() && d.fromLowerEl() && !d.stage1PageWalk() -> {
                int size = d.sizeBytes();
                pendingAdvance = true;
                if (d.write()) {
                    long value = d.register() == 31 ? 0 : register(d.register());
                    return new VcpuExit.MmioWrite(ipa, size, truncate(value, size));
                }
                pendingRegister = d.register();
                pendingSize = size;
                pendingSignExtend = d.signExtend();
                pendingSixtyFour = d.sixtyFourBit();
                pendingValue = -1; // an uncompleted read returns all-ones
                return new VcpuExit.MmioRead(ipa, size);
            }
            case Syndrome.DataAbort d -> {
                return new VcpuExit.Unhandled(syndrome, "data abort at IPA 0x" + Long.toHexString(ipa) + " from PC 0x"
                        + Long.toHexString(pc()) + " that cannot be emulated (" + (d.isv() ? "stage-1 page walk"
                        : "no instruction syndrome, ISV=0: the guest used LDP/STP, a writeback or a SIMD access on MMIO")
                        + "): " + d);
            }
            case Syndrome.Hvc h -> {
                return hypercall(VcpuExit.Hypercall.Conduit.HVC, false);
            }
            case Syndrome.Smc c -> {
                return hypercall(VcpuExit.Hypercall.Conduit.SMC, true);
            }
            case Syndrome.SysRegAccess r -> {
                pendingAdvance = true; // EC 0x18 leaves PC at the MSR/MRS (hvf-arm64.md §4)
                if (!r.read()) return new VcpuExit.SysRegWrite(r.hvSysReg(), r.name(), r.rt() == 31 ? 0 : register(r.rt()));
                pendingRegister = r.rt();
                pendingSize = 8;
                pendingSignExtend = false;
                pendingSixtyFour = true;
                pendingValue = -1; // an uncompleted read returns all-ones
                return new VcpuExit.SysRegRead(r.hvSysReg(), r.name());
            }
            case Syndrome.WaitFor w -> {
                pendingAdvance = true;
                return w.kind() == Syndrome.WaitFor.Kind.WFI || w.kind() == Syndrome.WaitFor.Kind.WFIT
                        ? new VcpuExit.Halt() : null;
            }
            default -> {
                return new VcpuExit.Unhandled(syndrome, "guest exception the VMM does not emulate at PC 0x"
                        + Long.toHexString(pc()) + ": " + s);
            }
        }
    }

    private VcpuExit hypercall(VcpuExit.Hypercall.Conduit conduit, boolean advance) {
        long[] x = new long[5];
        for (int i = 0; i < x.length; i++) x[i] = register(i);
        pendingRegister = 0;
        pendingSize = 8;
        pendingSignExtend = false;
        pendingSixtyFour = true;
        pendingValue = -1; // SMCCC NOT_SUPPORTED if nobody answers
        pendingAdvance = advance;
        return new VcpuExit.Hypercall(conduit, x[0], x[1], x[2], x[3], x[4]);
    }

    @Override
    public void completeRead(long value) {
        if (pendingRegister < 0) throw new IllegalStateException("vCPU " + id + " has no read or hypercall to complete");
        pendingValue = value;
    }

    /** Writes the completed read to its register and steps past the trapped instruction. */
    private void finishPrevious() {
        if (pendingRegister >= 0) {
            if (pendingRegister != 31) {
                hvf.vcpuSetReg(handle, Hvf.HV_REG_X0 + pendingRegister,
                        loadedValue(pendingValue, pendingSize, pendingSignExtend, pendingSixtyFour));
            }
            pendingRegister = -1;
        }
        if (pendingAdvance) {
            hvf.vcpuSetReg(handle, Hvf.HV_REG_PC, pc() + 4);
            pendingAdvance = false;
        }
    }

    /** Unmasks the vtimer once the guest has dealt with it (hvf-arm64.md §4.4 step 2). */
    private void syncVtimer() {
        if (!vtimerMasked) return;
        long ctl = hvf.vcpuGetSysReg(handle, Hvf.HV_SYS_REG_CNTV_CTL_EL0, scratch);
        boolean asserted = (ctl & CNTV_CTL_ENABLE) != 0 && (ctl & CNTV_CTL_ISTATUS) != 0 && (ctl & CNTV_CTL_IMASK) == 0;
        if (!asserted) {
            hvf.vcpuSetVtimerMask(handle, false);
            vtimerMasked = false;
        }
    }

    @Override
    public void awaitInterrupt() throws InterruptedException {
        wakeLock.lock();
        try {
            while (!wakePending) {
                long nanos = timerWaitNanos();
                if (nanos == 0) return;
                if (nanos < 0) woken.await(); else woken.awaitNanos(nanos);
            }
            wakePending = false;
        } finally {
            wakeLock.unlock();
        }
    }

    /** How long the virtual timer lets a WFI sleep: 0 = it has fired or is pending, -1 = it will not wake the vCPU. */
    private long timerWaitNanos() {
        if (vtimerMasked) return 0; // its interrupt is pending in the GIC: WFI completes at once
        long ctl = hvf.vcpuGetSysReg(handle, Hvf.HV_SYS_REG_CNTV_CTL_EL0, scratch);
        if ((ctl & CNTV_CTL_ENABLE) == 0 || (ctl & CNTV_CTL_IMASK) != 0) return -1;
        long cval = hvf.vcpuGetSysReg(handle, Hvf.HV_SYS_REG_CNTV_CVAL_EL0, scratch);
        long now = hvf.machAbsoluteTime() - vm.vtimerOffset();
        if (Long.compareUnsigned(now, cval) >= 0) return 0;
        return Math.max(1, hvf.ticksToNanos(cval - now));
    }

    /** Ends a WFI wait (an interrupt line rose, or a kick); remembered if the vCPU is not waiting yet. */
    void wake() {
        wakeLock.lock();
        try {
            wakePending = true;
            woken.signalAll();
        } finally {
            wakeLock.unlock();
        }
    }

    @Override
    public void kick() {
        if (closed) return;
        wake();
        int r = hvf.vcpusExit(kickTarget);
        if (r != Hvf.HV_SUCCESS && !closed) Hvf.check("hv_vcpus_exit", r);
    }

    @Override
    public String dumpRegisters() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 31; i++) {
            b.append(i < 10 ? " X" : "X").append(i).append('=').append("%016x".formatted(register(i)));
            b.append(i % 4 == 3 ? '\n' : ' ');
        }
        b.append(" PC=%016x CPSR=%08x".formatted(pc(), hvf.vcpuGetReg(handle, Hvf.HV_REG_CPSR, scratch)));
        b.append(" SP_EL1=%016x".formatted(hvf.vcpuGetSysReg(handle, Hvf.HV_SYS_REG_SP_EL1, scratch)));
        return b.toString();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        vm.forget(this);
        try {
            hvf.vcpuDestroy(handle);
        } finally {
            arena.close();
        }
    }

    /**
     * What a load of {@code size} bytes leaves in Xt when the device answered {@code value}: the low bytes,
     * sign-extended when SSE, and cut to the W register (upper half zero) unless SF — the Arm ARM's LDR, LDRSB,
     * LDRSH and LDRSW semantics as the data-abort syndrome describes them.
     */
    static long loadedValue(long value, int size, boolean signExtend, boolean sixtyFour) {
        long v = truncate(value, size);
        if (signExtend && size < 8) v = v << (64 - 8 * size) >> (64 - 8 * size);
        return sixtyFour ? v : v & 0xffff_ffffL;
    }

    private static long truncate(long value, int size) {
        return size >= 8 ? value : value & ((1L << (8 * size)) - 1);
    }
}
