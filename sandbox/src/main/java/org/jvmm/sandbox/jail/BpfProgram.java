package org.jvmm.sandbox.jail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A classic BPF program as the kernel takes it ({@code struct sock_filter[]}, {@code <linux/filter.h>}),
 * plus the few opcodes ({@code <linux/bpf_common.h>}) and seccomp return values ({@code <linux/seccomp.h>})
 * a seccomp filter needs.
 *
 * @param instructions the program, at most {@link #MAX_INSTRUCTIONS}
 */
public record BpfProgram(List<Instruction> instructions) {

    /** {@code BPF_MAXINSNS}: the kernel refuses longer classic programs. */
    public static final int MAX_INSTRUCTIONS = 4096;

    /** {@code BPF_LD | BPF_W | BPF_ABS}: A = the 32-bit word at offset k of {@code struct seccomp_data}. */
    public static final int LD_W_ABS = 0x20;
    /** {@code BPF_ALU | BPF_AND | BPF_K}: A &= k. */
    public static final int ALU_AND_K = 0x54;
    /** {@code BPF_JMP | BPF_JEQ | BPF_K}: skip jt instructions if A == k, else jf. */
    public static final int JMP_JEQ_K = 0x15;
    /** {@code BPF_RET | BPF_K}: the filter's verdict is k. */
    public static final int RET_K = 0x06;

    /** {@code SECCOMP_RET_KILL_PROCESS}: the process dies with SIGSYS. */
    public static final int SECCOMP_RET_KILL_PROCESS = 0x8000_0000;
    /** {@code SECCOMP_RET_ERRNO}: the call fails with the errno in the low 16 bits. */
    public static final int SECCOMP_RET_ERRNO = 0x0005_0000;
    /** {@code SECCOMP_RET_USER_NOTIF}: the call waits for the supervisor holding the listener. */
    public static final int SECCOMP_RET_USER_NOTIF = 0x7FC0_0000;
    /** {@code SECCOMP_RET_ALLOW}. */
    public static final int SECCOMP_RET_ALLOW = 0x7FFF_0000;

    /** {@code struct seccomp_data} offsets: {@code int nr}, {@code __u32 arch}, {@code __u64 args[6]}. */
    public static final int DATA_NR = 0, DATA_ARCH = 4, DATA_ARGS = 16;

    public BpfProgram {
        instructions = List.copyOf(instructions);
        if (instructions.isEmpty() || instructions.size() > MAX_INSTRUCTIONS) {
            throw new IllegalArgumentException("a classic BPF program has 1 to 4096 instructions, not " + instructions.size());
        }
    }

    /** One {@code struct sock_filter}: 16-bit opcode, two 8-bit relative jumps, 32-bit constant. */
    public record Instruction(int code, int jt, int jf, int k) {
        public Instruction {
            if (code < 0 || code > 0xFFFF || jt < 0 || jt > 0xFF || jf < 0 || jf > 0xFF) {
                throw new IllegalArgumentException("not a sock_filter: code " + code + " jt " + jt + " jf " + jf);
            }
        }

        @Override
        public String toString() {
            return String.format("{ 0x%02x, %d, %d, 0x%08x }", code, jt, jf, k);
        }
    }

    /** The program as {@code struct sock_filter}s in native byte order, in memory of {@code arena}. */
    public MemorySegment toSegment(Arena arena) {
        MemorySegment s = arena.allocate((long) instructions.size() * LinuxLibc.SOCK_FILTER_SIZE, 8);
        for (int i = 0; i < instructions.size(); i++) {
            Instruction in = instructions.get(i);
            long at = (long) i * LinuxLibc.SOCK_FILTER_SIZE;
            s.set(ValueLayout.JAVA_SHORT, at, (short) in.code());
            s.set(ValueLayout.JAVA_BYTE, at + 2, (byte) in.jt());
            s.set(ValueLayout.JAVA_BYTE, at + 3, (byte) in.jf());
            s.set(ValueLayout.JAVA_INT, at + 4, in.k());
        }
        return s;
    }
}
