package org.jvmm.x86.cpu;

import java.util.List;
import org.jvmm.core.hypervisor.Vm;

/** An x86-64 VM: its vCPUs are {@link X86Vcpu}s, and it says which CPUID values the host can offer. */
public interface X86Vm extends Vm {

    @Override
    X86Vcpu createVcpu(int id);

    /** The CPUID leaves the backend can give a guest (KVM_GET_SUPPORTED_CPUID), before jvmm's policy. */
    List<CpuidEntry> supportedCpuid();
}
