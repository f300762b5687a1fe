package org.jvmm.sandbox.jail;

import java.util.Objects;

/**
 * One line of a seccomp policy: what happens when the helper makes the system call {@code syscall}.
 * A call no rule names is a violation (see {@link SeccompMode}).
 *
 * @param syscall the kernel's name of the call, as in {@link SyscallTable}
 * @param action  what the filter does with it
 */
public record SeccompRule(String syscall, Action action) {

    public SeccompRule {
        Objects.requireNonNull(action, "action");
        if (syscall == null || !syscall.matches("[a-z0-9_]+")) {
            throw new IllegalArgumentException("a system call name is lower-case letters, digits and _: " + syscall);
        }
    }

    /** What a rule does with its call. */
    public sealed interface Action permits Allow, AllowIf, Errno {}

    /** The call runs. */
    public record Allow() implements Action {}

    /**
     * The call runs when {@code (args[arg] & mask) == value}, comparing the low 32 bits of the argument
     * only (so {@code mask} is limited to 32 bits); otherwise it fails with {@code otherwiseErrno}, or is
     * a violation if that is 0. Enough to allow {@code clone} for threads only ({@code CLONE_THREAD} set)
     * and nothing that would make a process, or {@code newfstatat} on a descriptor but not on a path.
     */
    public record AllowIf(int arg, long mask, long value, int otherwiseErrno) implements Action {
        public AllowIf {
            if (otherwiseErrno < 0 || otherwiseErrno > 4095) throw new IllegalArgumentException("an errno is 1 to 4095, not " + otherwiseErrno);
            if (arg < 0 || arg > 5) throw new IllegalArgumentException("a system call has arguments 0 to 5, not " + arg);
            if (mask < 0 || mask > 0xFFFF_FFFFL) throw new IllegalArgumentException("a mask of 32 bits at most, not 0x" + Long.toHexString(mask));
            if ((value & ~mask) != 0) throw new IllegalArgumentException("the value 0x" + Long.toHexString(value)
                    + " has bits outside the mask 0x" + Long.toHexString(mask) + " and could never match");
        }
    }

    /**
     * The call fails with {@code errno} without running: for calls the JVM may make lazily and copes
     * with failing (opening a file), and for {@code clone3}, whose flags live in memory a filter cannot
     * read, so that glibc falls back to {@code clone} (ENOSYS), whose flags it can.
     */
    public record Errno(int errno) implements Action {
        public Errno {
            // SECCOMP_RET_DATA holds 16 bits, but the kernel caps an errno at MAX_ERRNO (4095).
            if (errno < 1 || errno > 4095) throw new IllegalArgumentException("an errno is 1 to 4095, not " + errno);
        }
    }
}
