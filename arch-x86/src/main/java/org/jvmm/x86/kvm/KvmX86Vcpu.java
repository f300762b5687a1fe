package org.jvmm.x86.kvm;

import java.util.List;
import java.util.Map;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.sys.linux.kvm.KvmVcpuFd;
import org.jvmm.x86.cpu.CpuidEntry;
import org.jvmm.x86.cpu.Segment;
import org.jvmm.x86.cpu.X86Registers;
import org.jvmm.x86.cpu.X86SpecialRegisters;
import org.jvmm.x86.cpu.X86Vcpu;

/**
 * An x86-64 vCPU on KVM: runs the guest with {@code KVM_RUN}, lets {@link X86ExitDecoder} translate the
 * exit (including splitting string I/O and completing reads in {@code kvm_run}), and gives register,
 * CPUID and MSR access through {@link KvmX86Binding}. Owned by the thread that created it.
 */
public final class KvmX86Vcpu implements X86Vcpu {

    private static final VcpuExit CANCELED = new VcpuExit.Canceled();

    private final KvmVcpuFd vcpu;
    private final X86ExitDecoder decoder;
    private final int id;
    private final Thread owner = Thread.currentThread();

    KvmX86Vcpu(KvmVcpuFd vcpu, int id) {
        this.vcpu = vcpu;
        this.decoder = new X86ExitDecoder(vcpu.kvmRun());
        this.id = id;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public VcpuExit run() {
        checkThread();
        decoder.startRun();
        VcpuExit pending = decoder.nextStringElement();
        if (pending != null) return pending;
        if (!vcpu.run()) return CANCELED;
        return decoder.decode(this::dumpRegisters);
    }

    @Override
    public void completeRead(long value) {
        decoder.completeRead(value);
    }

    @Override
    public void kick() {
        vcpu.kick();
    }

    @Override
    public X86Registers registers() {
        checkThread();
        return KvmX86Binding.getRegisters(vcpu.fd());
    }

    @Override
    public void setRegisters(X86Registers registers) {
        checkThread();
        KvmX86Binding.setRegisters(vcpu.fd(), registers);
    }

    @Override
    public X86SpecialRegisters specialRegisters() {
        checkThread();
        return KvmX86Binding.getSpecialRegisters(vcpu.fd());
    }

    @Override
    public void setSpecialRegisters(X86SpecialRegisters registers) {
        checkThread();
        KvmX86Binding.setSpecialRegisters(vcpu.fd(), registers);
    }

    @Override
    public void setCpuid(List<CpuidEntry> entries) {
        checkThread();
        KvmX86Binding.setCpuid(vcpu.fd(), entries);
    }

    @Override
    public void setMsrs(Map<Integer, Long> msrs) {
        checkThread();
        KvmX86Binding.setMsrs(vcpu.fd(), msrs);
    }

    @Override
    public void resetFpu() {
        checkThread();
        KvmX86Binding.resetFpu(vcpu.fd());
    }

    /** {@code KVM_GET_MP_STATE}: whether the vCPU is runnable (0), waiting for INIT/SIPI (1), halted (3) ... */
    public int mpState() {
        checkThread();
        return KvmX86Binding.getMpState(vcpu.fd());
    }

    @Override
    public String dumpRegisters() {
        try {
            X86Registers r = KvmX86Binding.getRegisters(vcpu.fd());
            X86SpecialRegisters s = KvmX86Binding.getSpecialRegisters(vcpu.fd());
            return """
                    vCPU %d: rip=%016x rflags=%016x
                      rax=%016x rbx=%016x rcx=%016x rdx=%016x
                      rsi=%016x rdi=%016x rsp=%016x rbp=%016x
                      r8 =%016x r9 =%016x r10=%016x r11=%016x
                      r12=%016x r13=%016x r14=%016x r15=%016x
                      cr0=%016x cr2=%016x cr3=%016x cr4=%016x efer=%016x
                      cs=%s ss=%s ds=%s
                      gdt=%x/%x idt=%x/%x""".formatted(id, r.rip(), r.rflags(), r.rax(), r.rbx(), r.rcx(), r.rdx(),
                    r.rsi(), r.rdi(), r.rsp(), r.rbp(), r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(),
                    r.r15(), s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.efer(), seg(s.cs()), seg(s.ss()), seg(s.ds()),
                    s.gdt().base(), s.gdt().limit(), s.idt().base(), s.idt().limit());
        } catch (RuntimeException e) {
            return "vCPU " + id + ": registers unavailable (" + e.getMessage() + ")";
        }
    }

    private static String seg(Segment s) {
        return "%04x(base=%x limit=%x type=%x%s)".formatted(s.selector(), s.base(), s.limit(), s.type(), s.l() ? " L" : "");
    }

    private void checkThread() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("vCPU " + id + " used from " + Thread.currentThread().getName()
                    + " but it belongs to " + owner.getName());
        }
    }

    @Override
    public void close() {
        vcpu.close();
    }
}
