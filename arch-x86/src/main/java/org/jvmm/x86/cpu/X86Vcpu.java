package org.jvmm.x86.cpu;

import java.util.List;
import java.util.Map;
import org.jvmm.core.hypervisor.Vcpu;

/** An x86-64 vCPU: {@link Vcpu} plus register, CPUID and MSR access. All methods on the vCPU's own thread. */
public interface X86Vcpu extends Vcpu {

    X86Registers registers();

    void setRegisters(X86Registers registers);

    X86SpecialRegisters specialRegisters();

    void setSpecialRegisters(X86SpecialRegisters registers);

    /** Sets what CPUID returns to this vCPU. */
    void setCpuid(List<CpuidEntry> entries);

    /** Writes model-specific registers (index → value). */
    void setMsrs(Map<Integer, Long> msrs);

    /** Sets the x87 control word and MXCSR to their power-on values (FCW 0x37f, MXCSR 0x1f80). */
    void resetFpu();
}
