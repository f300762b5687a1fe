package org.jvmm.x86.cpu;

/** The x86-64 general-purpose registers, instruction pointer and flags of one vCPU (KVM's {@code kvm_regs}). */
public record X86Registers(long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
                           long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
                           long rip, long rflags) {

    /** All zero except RFLAGS bit 1, which is reserved and always set. */
    public static final X86Registers RESET = new X86Registers(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2);

    public X86Registers withRip(long v) { return new X86Registers(rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, v, rflags); }
    public X86Registers withRsp(long v) { return new X86Registers(rax, rbx, rcx, rdx, rsi, rdi, v, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags); }
    public X86Registers withRbp(long v) { return new X86Registers(rax, rbx, rcx, rdx, rsi, rdi, rsp, v, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags); }
    public X86Registers withRsi(long v) { return new X86Registers(rax, rbx, rcx, rdx, v, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags); }
    public X86Registers withRbx(long v) { return new X86Registers(rax, v, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags); }
    public X86Registers withRax(long v) { return new X86Registers(v, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags); }
    public X86Registers withRflags(long v) { return new X86Registers(rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, v); }
}
