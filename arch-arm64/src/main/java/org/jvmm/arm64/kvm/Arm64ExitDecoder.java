package org.jvmm.arm64.kvm;

import java.lang.foreign.ValueLayout;
import java.util.function.Supplier;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.sys.linux.kvm.KvmExitDecoder;
import org.jvmm.core.sys.linux.kvm.KvmRun;

/**
 * The arm64 exits of {@code KVM_RUN} on top of the shared {@link KvmExitDecoder}, which completes MMIO reads
 * into {@code kvm_run}'s data area (KVM then writes the load's target register and advances the PC itself).
 *
 * <p>With the in-kernel GICv3 and PSCI, WFI, HVC and SMC never reach user space; the exits left are MMIO,
 * system events (PSCI SYSTEM_OFF / SYSTEM_RESET), a data abort KVM could not decode ({@code KVM_EXIT_ARM_NISV},
 * which {@link KvmArm64Vm} asks for where the host offers it) and failures.
 */
final class Arm64ExitDecoder extends KvmExitDecoder {

    /** {@code KVM_EXIT_ARM_NISV}: a data abort without a valid instruction syndrome. */
    static final int KVM_EXIT_ARM_NISV = 28;
    // struct { __u64 esr_iss; __u64 fault_ipa; } arm_nisv, in kvm_run's exit union at 32.
    private static final long NISV_ESR_ISS = 32, NISV_FAULT_IPA = 40;

    Arm64ExitDecoder(KvmRun run) {
        super(run);
    }

    @Override
    protected VcpuExit decodeArch(int reason, Supplier<String> registers) {
        return switch (reason) {
            case KVM_EXIT_ARM_NISV -> new VcpuExit.Unhandled(reason, ("the guest accessed device memory at IPA 0x%x with an"
                    + " instruction KVM cannot decode (ESR ISS 0x%x: no valid syndrome, e.g. a load/store pair or"
                    + " writeback)\n%s").formatted(u64(NISV_FAULT_IPA), u64(NISV_ESR_ISS), registers.get()));
            default -> super.decodeArch(reason, registers);
        };
    }

    /** An arm64 load or store moves 1, 2, 4 or 8 bytes (the SAS field); anything else is not the ABI. */
    @Override
    protected boolean validMmioLength(int length) {
        return length == 1 || length == 2 || length == 4 || length == 8;
    }

    private long u64(long offset) {
        return run.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
    }
}
