package org.jvmm.core.observe;

import org.jvmm.core.hypervisor.VcpuExit;

/**
 * Sees every exit the run loop handles: the hook for tracing, statistics, JFR and research code.
 *
 * <p>Called on the vCPU's thread after the exit was handled and before the vCPU runs again, so an
 * observer's cost adds to every exit: keep it small. For reads, {@code value} is the value returned
 * to the guest; for writes, the value written; otherwise 0.
 */
@FunctionalInterface
public interface ExitObserver {

    /**
     * @param vcpu          the vCPU index
     * @param exit          the exit
     * @param device        the name of the device that answered ({@code "unclaimed"} if none), or the
     *                      handler's name for non-I/O exits
     * @param value         the value read or written
     * @param handlingNanos time from {@code run()} returning to the exit being handled
     */
    void onExit(int vcpu, VcpuExit exit, String device, long value, long handlingNanos);

    /** Called once when the machine has stopped, for summaries. */
    default void onMachineStopped() {}
}
