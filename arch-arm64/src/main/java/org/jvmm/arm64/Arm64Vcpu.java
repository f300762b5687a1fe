package org.jvmm.arm64;

import org.jvmm.core.hypervisor.Vcpu;

/**
 * An arm64 vCPU: what {@link Arm64Assembly} needs from a backend beyond the arch-neutral {@link Vcpu} —
 * entry registers and the wait a {@code WFI} asks for. All methods except {@link #kick()} run on the vCPU's
 * own thread, like {@link Vcpu#run()}.
 */
public interface Arm64Vcpu extends Vcpu {

    /**
     * Sets the registers the vCPU enters the guest with: PC, X0–X3, PSTATE (CPSR) and MPIDR_EL1's affinity, and
     * powers it on. Called before the first run (boot CPU) or when PSCI CPU_ON starts a secondary.
     */
    void setEntryState(Arm64CpuState state);

    /**
     * Powers the vCPU off (a secondary before CPU_ON, or after CPU_OFF): until {@link #setEntryState} its
     * {@link #run()} returns {@link org.jvmm.core.hypervisor.VcpuExit.Halt} without entering the guest, so the
     * run loop stays responsive to pause and stop while the assembly waits for a CPU_ON.
     */
    void powerOff();

    /** General-purpose register X{@code n} (0–30); for error reports and tests. */
    long register(int n);

    /** The program counter. */
    long pc();

    /**
     * Parks the vCPU's thread after a {@code WFI} ({@link org.jvmm.core.hypervisor.VcpuExit.Halt}) until a
     * wake-up event: an interrupt line of the VM was raised, the guest's virtual timer reaches its deadline
     * (CNTV_CVAL_EL0, when enabled and unmasked), or {@link #kick()}. May return early: WFI allows spurious
     * wake-ups, and the guest re-checks its condition.
     */
    void awaitInterrupt() throws InterruptedException;
}
