package org.jvmm.x86;

import org.jvmm.core.ConfigurationException;
import org.jvmm.core.hypervisor.Hypervisor;

/** Chooses the hypervisor backend that runs x86-64 guests on this host. */
final class X86Hypervisors {

    private X86Hypervisors() {}

    static Hypervisor open() {
        throw new ConfigurationException("The KVM x86 backend is not built into this jvmm yet: update jvmm.");
    }
}
