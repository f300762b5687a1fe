package org.jvmm.sandbox.jail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.core.sys.linux.LinuxLibc.SeccompNotification;

/**
 * jvmm's side of {@code --sandbox-log}: receives a helper's seccomp listener and, on a daemon thread,
 * logs each call the helper's policy does not allow by name ("helper blk: denied syscall openat"), then
 * lets the call run.
 *
 * <p>Why {@code SECCOMP_RET_USER_NOTIF}, with the listener handed to jvmm, and not the alternatives:
 * <ul>
 * <li>{@code SECCOMP_RET_LOG} writes numbers to the kernel's audit log, which jvmm may not be allowed
 *     to read and cannot tie to a device;</li>
 * <li>{@code SECCOMP_RET_TRAP} raises SIGSYS in the offending thread, but the JVM owns signal handling
 *     and a Java upcall from a signal handler is not safe, so the helper could not name the call;</li>
 * <li>a listener read by a thread of the helper itself would deadlock the moment that thread made a
 *     call outside the policy, and would run the logging inside the thing being debugged.</li>
 * </ul>
 * With a user notification the kernel stops the calling thread and hands jvmm the number, the
 * architecture and the arguments; jvmm, outside the sandbox, names the call with {@link SyscallTable}
 * and answers {@code SECCOMP_USER_NOTIF_FLAG_CONTINUE}. The kernel documents CONTINUE as unfit for
 * security decisions (the arguments may change between check and use); here it makes no decision, it
 * only lets a debug run go on.
 *
 * <p>The listener arrives over a Unix socket: jvmm listens on a path it binds into the sandbox, the
 * helper connects once and sends one byte 'L' carrying the descriptor by SCM_RIGHTS. The thread ends
 * when every thread of the helper is gone (the listener reports POLLHUP), or when the helper closes the
 * connection or does not connect at all.
 */
public final class SeccompLogger {

    private SeccompLogger() {}

    /** How long {@link #listen} waits for the helper to connect: as long as a helper may take to start. */
    private static final int CONNECT_TIMEOUT_MILLIS = 60_000;

    /**
     * Listens on a new Unix socket at {@code path} (which must not exist), then on a daemon thread accepts
     * one connection from helper {@code device}, removes the socket file and goes on as {@link #start}.
     */
    public static Thread listen(Path path, String device, Consumer<String> log) {
        int listener = LinuxLibc.socket(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        try {
            LinuxLibc.bindUnix(listener, path.toString());
            LinuxLibc.listen(listener, 1);
        } catch (RuntimeException e) {
            LinuxLibc.close(listener);
            throw e;
        }
        return Thread.ofPlatform().daemon().name("seccomp-accept-" + device).start(() -> {
            int socket = -1;
            try {
                for (int waited = 0; waited < CONNECT_TIMEOUT_MILLIS && socket < 0; waited += 100) {
                    if (LinuxLibc.poll(new int[] {listener}, LinuxLibc.POLLIN, 100)[0] != 0) {
                        socket = LinuxLibc.accept(listener, LinuxLibc.SOCK_CLOEXEC);
                    }
                }
            } finally {
                LinuxLibc.close(listener);
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // a socket file left in jvmm's private directory is harmless
                }
            }
            if (socket >= 0) run(socket, device, log);
        });
    }

    /**
     * Starts a daemon thread that receives the listener on {@code socket} (closing the socket after),
     * then logs the denied calls of helper {@code device} to {@code log} until the helper is gone.
     */
    public static Thread start(int socket, String device, Consumer<String> log) {
        return Thread.ofPlatform().daemon().name("seccomp-log-" + device).start(() -> run(socket, device, log));
    }

    private static void run(int socket, String device, Consumer<String> log) {
        int listener;
        try {
            org.jvmm.core.sys.Received r = LinuxLibc.recvWithFds(socket, 16, 1);
            if (r.fds().length != 1) {
                for (int fd : r.fds()) LinuxLibc.close(fd);
                return;   // the helper ended before it installed its filter
            }
            listener = r.fds()[0];
        } catch (RuntimeException e) {
            log.accept("helper " + device + ": no seccomp listener arrived (" + e.getMessage() + ")");
            return;
        } finally {
            LinuxLibc.close(socket);
        }
        try {
            follow(listener, device, log);
        } catch (RuntimeException e) {
            // What arrived may be anything a compromised helper sent instead of its listener: one line, no more.
            log.accept("helper " + device + ": the seccomp log ended (" + e.getMessage() + ")");
        } finally {
            LinuxLibc.close(listener);
        }
    }

    /** Logs and lets run every notification on {@code listener} until no filtered thread remains. */
    static void follow(int listener, String device, Consumer<String> log) {
        while (true) {
            int revents = LinuxLibc.poll(new int[] {listener}, LinuxLibc.POLLIN, -1)[0];
            if ((revents & LinuxLibc.POLLIN) == 0) {
                if ((revents & (LinuxLibc.POLLHUP | LinuxLibc.POLLERR)) != 0) return;
                continue;   // EINTR
            }
            SeccompNotification n;
            try {
                n = LinuxLibc.seccompNotifyReceive(listener);
            } catch (SysException e) {
                if (e.errno() == Errno.ENOENT || e.errno() == Errno.EINTR) continue;   // the caller went away
                throw e;
            }
            log.accept("helper " + device + ": denied syscall " + describe(n));
            try {
                LinuxLibc.seccompNotifySend(listener, n.id(), 0, LinuxLibc.SECCOMP_USER_NOTIF_FLAG_CONTINUE);
            } catch (SysException e) {
                if (e.errno() != Errno.ENOENT) throw e;
            }
        }
    }

    /** The call's name on its architecture, or its number and the architecture's audit value. */
    static String describe(SeccompNotification n) {
        Optional<SeccompArch> arch = SeccompArch.ofAuditArch(n.arch());
        return arch.map(a -> SyscallTable.name(a, n.nr()))
                .orElse("syscall " + n.nr() + " of audit arch 0x" + Integer.toHexString(n.arch()));
    }
}
