package org.jvmm.core.platform;

import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;

/**
 * A machine the platform has built: it prepares each vCPU and answers the exits that are not bus
 * accesses (halt, hypercalls such as PSCI, system events, shutdown, failures).
 */
public interface Assembly {

    /** Sets the initial state of {@code vcpu} (boot registers for CPU 0; the rest wait for the guest). On its thread. */
    void initVcpu(Vcpu vcpu);

    /**
     * Decides what a non-bus exit means. Runs on the vCPU's thread; may complete a hypercall with
     * {@link Vcpu#completeRead(long)}.
     */
    ExitAction handle(Vcpu vcpu, VcpuExit exit);
}
