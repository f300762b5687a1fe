package org.jvmm.arm64.psci;

/**
 * What the backend must do after a PSCI call, besides writing {@link PsciResult#x0()} to the caller's X0
 * (when the call returns at all).
 */
public sealed interface PsciAction {

    /** Nothing: resume the caller. */
    record Resume() implements PsciAction {}

    /**
     * Start vCPU {@code cpu} (powered off until now) in AArch64 EL1h with the MMU off, at {@code entry} with
     * X0 = {@code contextId}, and call {@link Psci#cpuStarted(int)} once it runs. The caller resumes with
     * SUCCESS.
     */
    record StartCpu(int cpu, long mpidr, long entry, long contextId) implements PsciAction {}

    /** Power the calling vCPU off (CPU_OFF): its loop stops; a later CPU_ON may start it again. The call does not return. */
    record StopCaller() implements PsciAction {}

    /** Power the whole machine off (SYSTEM_OFF). The call does not return. */
    record PowerOff() implements PsciAction {}

    /** Reset the whole machine (SYSTEM_RESET). The call does not return. */
    record Reset() implements PsciAction {}

    PsciAction RESUME = new Resume();
}
