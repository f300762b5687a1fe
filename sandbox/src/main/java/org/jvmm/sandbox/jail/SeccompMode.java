package org.jvmm.sandbox.jail;

/**
 * What a helper's seccomp filter does with a violation (a system call its policy does not allow) and
 * with a call its policy fails with an errno.
 */
public enum SeccompMode {
    /**
     * A call the policy fails with an errno fails (opening a file: EACCES); any other call outside the
     * policy is {@code SECCOMP_RET_KILL_PROCESS}: the whole helper dies at once with SIGSYS. A helper that makes a
     * call it never makes when healthy has been taken over or is broken; killing it leaves an attacker no
     * way to probe the kernel's surface call by call (as {@code SECCOMP_RET_ERRNO} would) and leaves the
     * JVM no half-working state. jvmm sees the helper die and marks the device as needing a reset.
     * ({@code SECCOMP_RET_KILL_THREAD} would leave a JVM with a thread silently gone.)
     */
    ENFORCE,
    /**
     * {@code --sandbox-log}: {@code SECCOMP_RET_USER_NOTIF}; the helper's filter hands every call the
     * policy would fail or kill to jvmm, which logs it by name ("helper blk: denied syscall openat") and
     * lets it run, so one run shows every call a policy lacks. (Rules answering ENOSYS stay as they are:
     * they steer glibc to another call and deny nothing.) See {@link SeccompLogger} for why user notification and not the
     * alternatives. For debugging policies only: the helper is not confined by its allow-list.
     */
    LOG
}
