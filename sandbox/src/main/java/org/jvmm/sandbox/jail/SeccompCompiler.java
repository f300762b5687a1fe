package org.jvmm.sandbox.jail;

import static org.jvmm.sandbox.jail.BpfProgram.ALU_AND_K;
import static org.jvmm.sandbox.jail.BpfProgram.DATA_ARCH;
import static org.jvmm.sandbox.jail.BpfProgram.DATA_ARGS;
import static org.jvmm.sandbox.jail.BpfProgram.DATA_NR;
import static org.jvmm.sandbox.jail.BpfProgram.JMP_JEQ_K;
import static org.jvmm.sandbox.jail.BpfProgram.LD_W_ABS;
import static org.jvmm.sandbox.jail.BpfProgram.RET_K;
import static org.jvmm.sandbox.jail.BpfProgram.SECCOMP_RET_ALLOW;
import static org.jvmm.sandbox.jail.BpfProgram.SECCOMP_RET_ERRNO;
import static org.jvmm.sandbox.jail.BpfProgram.SECCOMP_RET_KILL_PROCESS;
import static org.jvmm.sandbox.jail.BpfProgram.SECCOMP_RET_USER_NOTIF;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.jvmm.sandbox.jail.BpfProgram.Instruction;

/**
 * Compiles a {@link SeccompPolicy} to the classic BPF program the kernel runs on every system call.
 *
 * <p>The program first compares {@code seccomp_data.arch} with the one architecture it was compiled for
 * and kills the process on any other (a 64-bit JVM never uses the i386 entry; under
 * {@link SeccompMode#LOG} as well, since no name table exists for it). It then loads the call number and
 * tests the rules in policy order, one equality test each; a rule's block always ends in a verdict, so the
 * accumulator can be reused for an argument without reloading the number. A number no rule names
 * (including every x32 number on x86-64, which has bit 30 set) reaches the violation verdict. A linear
 * list costs a few nanoseconds per rule once the kernel JITs it; a policy of about a hundred calls
 * with the hot ones first does not need a binary search tree.
 */
public final class SeccompCompiler {

    private SeccompCompiler() {}

    /**
     * The verdict of a rule that fails a call with {@code errno}: that errno; under {@link SeccompMode#LOG}
     * a notification instead (the call is logged and runs), unless the errno is ENOSYS, which tells the
     * caller the call does not exist so that it uses another (glibc's clone3, then clone) and denies nothing.
     */
    private static int failure(int errno, SeccompMode mode) {
        return mode == SeccompMode.LOG && errno != ENOSYS ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ERRNO | errno;
    }

    private static final int ENOSYS = org.jvmm.core.sys.linux.Errno.ENOSYS;

    /** Compiles {@code policy} for {@code arch}, with violations handled as {@code mode} says. */
    public static BpfProgram compile(SeccompPolicy policy, SeccompArch arch, SeccompMode mode) {
        int violation = switch (mode) {
            case ENFORCE -> SECCOMP_RET_KILL_PROCESS;
            case LOG -> SECCOMP_RET_USER_NOTIF;
        };
        List<Instruction> p = new ArrayList<>();
        p.add(new Instruction(LD_W_ABS, 0, 0, DATA_ARCH));
        p.add(new Instruction(JMP_JEQ_K, 1, 0, arch.auditArch()));
        p.add(new Instruction(RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS));
        p.add(new Instruction(LD_W_ABS, 0, 0, DATA_NR));
        for (SeccompRule rule : policy.rules()) {
            OptionalInt nr = SyscallTable.number(arch, rule.syscall());
            if (nr.isEmpty()) continue;
            switch (rule.action()) {
                case SeccompRule.Allow a -> {
                    p.add(new Instruction(JMP_JEQ_K, 0, 1, nr.getAsInt()));
                    p.add(new Instruction(RET_K, 0, 0, SECCOMP_RET_ALLOW));
                }
                case SeccompRule.Errno e -> {
                    p.add(new Instruction(JMP_JEQ_K, 0, 1, nr.getAsInt()));
                    p.add(new Instruction(RET_K, 0, 0, failure(e.errno(), mode)));
                }
                case SeccompRule.AllowIf c -> {
                    p.add(new Instruction(JMP_JEQ_K, 0, 5, nr.getAsInt()));
                    // Both arches jvmm supports are little-endian: the low word of args[i] comes first.
                    p.add(new Instruction(LD_W_ABS, 0, 0, DATA_ARGS + 8 * c.arg()));
                    p.add(new Instruction(ALU_AND_K, 0, 0, (int) c.mask()));
                    p.add(new Instruction(JMP_JEQ_K, 0, 1, (int) c.value()));
                    p.add(new Instruction(RET_K, 0, 0, SECCOMP_RET_ALLOW));
                    p.add(new Instruction(RET_K, 0, 0, c.otherwiseErrno() == 0 ? violation : failure(c.otherwiseErrno(), mode)));
                }
            }
        }
        p.add(new Instruction(RET_K, 0, 0, violation));
        if (p.size() > BpfProgram.MAX_INSTRUCTIONS) {
            throw new IllegalArgumentException("policy " + policy.name() + " compiles to " + p.size()
                    + " instructions, more than the kernel's limit of " + BpfProgram.MAX_INSTRUCTIONS);
        }
        return new BpfProgram(p);
    }
}
