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

    /**
     * A machine-wide stop that a platform device asked for during a bus access (x86: the i8042's reset
     * pulse, the ACPI sleep register's S5), or null. Such devices are ordinary bus devices and cannot end
     * the machine themselves, so the loop asks after every port-I/O and MMIO exit, as crosvm's and
     * Firecracker's event loops watch their reset eventfd: keep it to a volatile read.
     */
    default ExitAction.StopMachine requestedStop() {
        return null;
    }
}
