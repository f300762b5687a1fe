package org.jvmm.sandbox.jail;

import java.lang.foreign.Arena;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * Installs a compiled seccomp filter on the calling process, from inside the helper, through the libc
 * binding ({@code seccomp(2)}, {@code <linux/seccomp.h>}).
 *
 * <p>Installed after warm-up, not by a wrapper before the JVM starts: starting a JVM takes many calls a
 * serving helper never makes again (opening the JDK's files, reading {@code /proc}, creating its
 * threads), and an allow-list that admitted them would protect little. TSYNC puts the filter on every
 * thread the JVM already has (GC, JIT, the reference handler); threads created later inherit it.
 * {@code PR_SET_NO_NEW_PRIVS} comes first because the kernel requires it from a process without
 * CAP_SYS_ADMIN, and because it keeps the filter from being shed through a set-uid exec.
 */
public final class SeccompFilter {

    private SeccompFilter() {}

    /** Installs {@code program} on every thread of this process, for good. */
    public static void install(BpfProgram program) {
        noNewPrivileges();
        try (Arena a = Arena.ofConfined()) {
            LinuxLibc.seccompSetModeFilter(LinuxLibc.SECCOMP_FILTER_FLAG_TSYNC, program.toSegment(a));
        }
    }

    /**
     * Installs {@code program} on every thread and returns the listener descriptor its
     * {@code SECCOMP_RET_USER_NOTIF} verdicts go to; until someone answers on it, a notifying call waits.
     */
    public static int installWithListener(BpfProgram program) {
        noNewPrivileges();
        try (Arena a = Arena.ofConfined()) {
            return LinuxLibc.seccompSetModeFilter(LinuxLibc.SECCOMP_FILTER_FLAG_TSYNC
                    | LinuxLibc.SECCOMP_FILTER_FLAG_NEW_LISTENER | LinuxLibc.SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
                    program.toSegment(a));
        }
    }

    private static void noNewPrivileges() {
        LinuxLibc.prctl(LinuxLibc.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }
}
