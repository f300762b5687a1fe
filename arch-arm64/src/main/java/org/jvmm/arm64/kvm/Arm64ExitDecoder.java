package org.jvmm.arm64.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.Supplier;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.sys.linux.kvm.KvmRun;

/**
 * Turns what {@code KVM_RUN} left in {@code kvm_run} into {@link VcpuExit}s for an arm64 vCPU, and puts
 * completed MMIO reads back into {@code kvm_run}'s data area, where KVM takes them on the next entry (it
 * writes the value to the load's target register and advances the PC itself). Works on the {@code kvm_run}
 * memory only, so it can be tested on hand-made contents.
 *
 * <p>With the in-kernel GICv3 and PSCI, WFI, HVC and SMC never reach user space; the exits left are MMIO,
 * system events (PSCI SYSTEM_OFF / SYSTEM_RESET), a data abort KVM could not decode ({@code KVM_EXIT_ARM_NISV},
 * which {@link KvmArm64Vm} asks for where the host offers it) and failures. A read left uncompleted returns all-ones. Lengths the kernel
 * reports are checked; anything outside the ABI gives {@link VcpuExit.Unhandled}.
 */
final class Arm64ExitDecoder {

    /** {@code KVM_EXIT_ARM_NISV}: a data abort without a valid instruction syndrome. */
    static final int KVM_EXIT_ARM_NISV = 28;
    // struct { __u64 esr_iss; __u64 fault_ipa; } arm_nisv, in kvm_run's exit union at 32.
    private static final long NISV_ESR_ISS = 32, NISV_FAULT_IPA = 40;

    private static final VcpuExit CANCELED = new VcpuExit.Canceled();

    private final KvmRun run;
    /** Where {@link #completeRead} puts the value of the read returned last; null if none is pending. */
    private MemorySegment pendingRead;

    Arm64ExitDecoder(KvmRun run) {
        this.run = run;
    }

    /** Forgets an uncompleted read (its data area already holds all-ones); call before every run. */
    void startRun() {
        pendingRead = null;
    }

    /** The exit {@code KVM_RUN} just returned; {@code registers} dumps the vCPU for failure exits. */
    VcpuExit decode(Supplier<String> registers) {
        int reason = run.exitReason();
        return switch (reason) {
            case KvmRun.KVM_EXIT_MMIO -> mmioExit();
            case KvmRun.KVM_EXIT_SYSTEM_EVENT -> systemEvent();
            case KvmRun.KVM_EXIT_INTR -> CANCELED;
            case KVM_EXIT_ARM_NISV -> new VcpuExit.Unhandled(reason, ("the guest accessed device memory at IPA 0x%x with an"
                    + " instruction KVM cannot decode (ESR ISS 0x%x: no valid syndrome, e.g. a load/store pair or"
                    + " writeback)\n%s").formatted(u64(NISV_FAULT_IPA), u64(NISV_ESR_ISS), registers.get()));
            case KvmRun.KVM_EXIT_INTERNAL_ERROR -> new VcpuExit.InternalError(Integer.toUnsignedLong(run.internalSuberror()),
                    registers.get() + "\ninternal error data: " + Arrays.toString(run.internalData()));
            case KvmRun.KVM_EXIT_FAIL_ENTRY -> new VcpuExit.FailedEntry(run.failEntryReason(),
                    registers.get() + "\nfailed on host cpu " + run.failEntryCpu());
            default -> new VcpuExit.Unhandled(Integer.toUnsignedLong(reason), KvmRun.exitName(reason));
        };
    }

    private long u64(long offset) {
        return run.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
    }

    private VcpuExit mmioExit() {
        int length = run.mmioLength();
        long address = run.mmioAddress();
        if (length != 1 && length != 2 && length != 4 && length != 8) {
            return new VcpuExit.Unhandled(KvmRun.KVM_EXIT_MMIO, "MMIO of length " + length);
        }
        MemorySegment data = run.mmioData().asSlice(0, length);
        if (run.mmioIsWrite()) return new VcpuExit.MmioWrite(address, length, readLittleEndian(data));
        data.fill((byte) 0xff);
        pendingRead = data;
        return new VcpuExit.MmioRead(address, length);
    }

    private VcpuExit systemEvent() {
        int type = run.systemEventType();
        return switch (type) {
            case KvmRun.KVM_SYSTEM_EVENT_SHUTDOWN -> new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.POWER_OFF);
            case KvmRun.KVM_SYSTEM_EVENT_RESET -> new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.RESET);
            case KvmRun.KVM_SYSTEM_EVENT_CRASH -> new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.CRASH);
            default -> new VcpuExit.Unhandled(KvmRun.KVM_EXIT_SYSTEM_EVENT, "KVM_EXIT_SYSTEM_EVENT type " + type);
        };
    }

    /** Completes the pending read with the low bytes of {@code value}, little-endian; no-op if none is pending. */
    void completeRead(long value) {
        MemorySegment target = pendingRead;
        if (target == null) return;
        for (int i = 0; i < target.byteSize(); i++) target.set(ValueLayout.JAVA_BYTE, i, (byte) (value >>> (8 * i)));
        pendingRead = null;
    }

    private static long readLittleEndian(MemorySegment bytes) {
        long v = 0;
        for (int i = (int) bytes.byteSize() - 1; i >= 0; i--) v = (v << 8) | (bytes.get(ValueLayout.JAVA_BYTE, i) & 0xff);
        return v;
    }
}
