package org.jvmm.x86;

import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.x86.kvm.KvmX86Hypervisor;
import org.jvmm.x86.kvm.KvmX86Options;

/** Chooses the hypervisor backend that runs x86-64 guests on this host: KVM, with its in-kernel irqchip and PIT. */
final class X86Hypervisors {

    private X86Hypervisors() {}

    static Hypervisor open() {
        return KvmX86Hypervisor.open(new KvmX86Options(true, X86Layout.KVM_TSS, X86Layout.KVM_IDENTITY_MAP));
    }
}
