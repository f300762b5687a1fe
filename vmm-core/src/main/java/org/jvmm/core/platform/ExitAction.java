package org.jvmm.core.platform;

/** What the run loop does after a platform-handled exit. */
public sealed interface ExitAction {

    /** Run the vCPU again. */
    record Continue() implements ExitAction {}

    /** Stop this vCPU's loop only (PSCI CPU_OFF, a halted bare-metal CPU); the machine goes on. */
    record StopVcpu() implements ExitAction {}

    /**
     * Stop the whole machine with {@code exitCode} (0: the guest powered off or rebooted; non-zero: an error),
     * giving {@code reason} for the user.
     */
    record StopMachine(int exitCode, String reason) implements ExitAction {}

    ExitAction CONTINUE = new Continue();
    ExitAction STOP_VCPU = new StopVcpu();
}
