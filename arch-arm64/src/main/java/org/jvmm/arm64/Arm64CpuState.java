package org.jvmm.arm64;

import org.jvmm.arm64.psci.PsciAction;

/**
 * The registers a backend sets before a vCPU first runs guest code, for the boot CPU
 * (Documentation/arch/arm64/booting.rst, "Call the kernel image") and for a secondary started by PSCI
 * CPU_ON (Arm DEN 0022 §6.4: entry address, context ID in X0). Everything not named here is the
 * architectural reset state; in particular SCTLR_EL1.M and .C are 0 (MMU and data cache off).
 *
 * @param pc     the first instruction
 * @param x0     X0: the FDT address (boot CPU) or the CPU_ON context ID
 * @param x1     X1, 0 (booting.rst: "reserved for future use")
 * @param x2     X2, 0
 * @param x3     X3, 0
 * @param pstate CPSR/SPSR value: {@link #PSTATE_EL1H_DAIF_MASKED}
 * @param mpidr  MPIDR_EL1's affinity fields for this vCPU
 */
public record Arm64CpuState(long pc, long x0, long x1, long x2, long x3, long pstate, long mpidr) {

    /**
     * 0x3c5: M[3:0] = 0b0101 (EL1h: EL1 using SP_EL1) and D, A, I, F (bits 9–6) set — booting.rst: "All
     * forms of interrupts must be masked in PSTATE.DAIF" and the kernel is entered at "non-secure EL1" (or EL2,
     * which jvmm's guests do not get). The value QEMU's and libkrun's HVF paths use (hvf-arm64.md §5, §6).
     */
    public static final long PSTATE_EL1H_DAIF_MASKED = 0x3c5;

    /** vCPU 0 entering the kernel of {@code plan}. */
    public static Arm64CpuState boot(Arm64BootPlan plan) {
        return new Arm64CpuState(plan.kernelAddress(), plan.fdtAddress(), 0, 0, 0, PSTATE_EL1H_DAIF_MASKED,
                Arm64Layout.mpidr(0));
    }

    /** A secondary vCPU entering the guest where its CPU_ON asked. */
    public static Arm64CpuState secondary(PsciAction.StartCpu start) {
        return new Arm64CpuState(start.entry(), start.contextId(), 0, 0, 0, PSTATE_EL1H_DAIF_MASKED, start.mpidr());
    }
}
