package org.jvmm.sandbox.jail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A test aid, not a device: a helper-shaped JVM that jails itself like a device helper and then tries
 * what a helper taken over by a hostile guest would try, printing what happened. The jail's tests run
 * it under bubblewrap; it serves nothing and jvmm never starts it.
 *
 * <pre>
 * JailProbe DEVICE enforce|log ATTEMPT [--log-socket PATH]
 * </pre>
 * ATTEMPT is {@code open} (read a file the sandbox does contain, the JDK's {@code release}),
 * {@code exec} (start a program through {@link ProcessBuilder}), {@code socket} (create a TCP socket,
 * as native code in the helper would) or {@code wait} (print {@code ready} and wait for end of input, so that a test can read the
 * probe's {@code /proc} entries meanwhile). Under {@code log} the seccomp listener goes to the Unix
 * socket at PATH. Prints {@code locked} once the filter is on, then one line per attempt:
 * {@code open: denied AccessDeniedException} or {@code open: allowed}.
 */
public final class JailProbe {

    /** {@code <sys/socket.h>}: IPv4. */
    private static final int AF_INET = 2;

    private JailProbe() {}

    /** Runs the probe; exit status 0 after the attempt, 2 on bad arguments. */
    public static void main(String[] args) throws Exception {
        if (args.length != 3 && !(args.length == 5 && args[3].equals("--log-socket"))) {
            System.err.println("usage: JailProbe DEVICE enforce|log open|exec|socket|wait [--log-socket PATH]");
            System.exit(2);
        }
        SeccompMode mode = args[1].equals("log") ? SeccompMode.LOG : SeccompMode.ENFORCE;
        String logSocket = args.length == 5 ? args[4] : null;
        String attempt = args[2];
        Path release = Path.of(System.getProperty("java.home"), "release");
        // Warm-up: what the attempt itself needs from the JVM, loaded and linked before the filter.
        LinuxLibc.poll(new int[0], LinuxLibc.POLLIN, 0);
        LinuxLibc.close(LinuxLibc.socket(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM, 0));
        Class.forName("java.nio.file.AccessDeniedException");
        Jail.lockDown(args[0], mode, logSocket);
        System.out.println("locked");
        System.out.flush();
        switch (attempt) {
            case "open" -> report("open", () -> {
                try (InputStream in = Files.newInputStream(release)) {
                    in.read();
                }
            });
            case "exec" -> report("exec", () -> new ProcessBuilder("/bin/true").start().waitFor());
            case "socket" -> report("socket", () -> LinuxLibc.close(LinuxLibc.socket(AF_INET, LinuxLibc.SOCK_STREAM, 0)));
            case "wait" -> {
                System.out.println("ready");
                System.out.flush();
                while (System.in.read() >= 0) {
                    // until jvmm's test closes our input
                }
            }
            default -> {
                System.err.println("unknown attempt " + attempt);
                System.exit(2);
            }
        }
        System.out.flush();
        System.exit(0);
    }

    private interface Attempt {
        void run() throws Exception;
    }

    private static void report(String what, Attempt attempt) {
        try {
            attempt.run();
            System.out.println(what + ": allowed");
        } catch (IOException | RuntimeException e) {
            System.out.println(what + ": denied " + e.getClass().getSimpleName() + " " + e.getMessage());
        } catch (Exception e) {
            System.out.println(what + ": denied " + e);
        }
    }
}
