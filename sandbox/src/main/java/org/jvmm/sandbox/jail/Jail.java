package org.jvmm.sandbox.jail;

import java.util.List;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * The helper's half of the jail: once it has warmed up, {@link #lockDown} installs the device's seccomp
 * allow-list ({@link SeccompPolicy}) on every thread on Linux, or its Seatbelt profile on macOS
 * ({@link SeatbeltProfile}, unverified). jvmm's half on Linux, the helper's command wrapped in
 * {@link Bubblewrap}, is {@code org.jvmm.sandbox.JailedLaunch}.
 */
public final class Jail {

    private Jail() {}

    /**
     * JVM options a jailed helper needs: no perf-data file (the JVM would create and, at exit, delete
     * it in a {@code /tmp} that does not exist, and unlink is outside every policy).
     */
    public static final List<String> JVM_OPTIONS = List.of("-XX:-UsePerfData");

    /**
     * The helper's side: installs the seccomp policy of {@code device} for {@code mode} on every thread.
     * Under {@link SeccompMode#LOG} the filter's listener goes, as one byte 'L' with SCM_RIGHTS, to the Unix
     * socket at {@code logSocketPath}, where jvmm's {@link SeccompLogger} waits; under
     * {@link SeccompMode#ENFORCE} {@code logSocketPath} is ignored (pass null).
     *
     * <p>Call it after warm-up: every class the helper will need loaded (from jars, which stay open; a
     * directory of classes would need a new open per class), every native call it will make linked, every
     * descriptor it needs received. Afterwards opening a file fails and anything else outside the policy
     * kills the helper.
     */
    public static void lockDown(String device, SeccompMode mode, String logSocketPath) {
        if (System.getProperty("os.name").startsWith("Mac")) {
            lockDownMac(device, mode);
            return;
        }
        SeccompArch arch = SeccompArch.host().orElseThrow(
                () -> new UnsupportedOperationException("no seccomp syscall table for " + System.getProperty("os.arch")));
        BpfProgram program = SeccompCompiler.compile(SeccompPolicy.forDevice(device), arch, mode);
        warmUp();
        if (mode == SeccompMode.ENFORCE) {
            SeccompFilter.install(program);
            return;
        }
        if (logSocketPath == null) throw new IllegalArgumentException("--sandbox-log needs the socket to send the seccomp listener to");
        int socket = LinuxLibc.socket(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        try {
            LinuxLibc.connectUnix(socket, logSocketPath);
            int listener = SeccompFilter.installWithListener(program);
            try {
                LinuxLibc.sendWithFds(socket, new byte[] {'L'}, new int[] {listener});
            } finally {
                LinuxLibc.close(listener);
            }
        } finally {
            LinuxLibc.close(socket);
        }
    }

    /**
     * What the JDK would otherwise do lazily, later, by opening files it can no longer open: read
     * {@code conf/logging.properties}, and load the time-zone rules ({@code lib/tzdb.dat}) that the first
     * log line's time stamp needs (measured: a helper's first warning died on that).
     */
    private static void warmUp() {
        java.util.logging.LogManager.getLogManager();
        new java.util.logging.SimpleFormatter().format(new java.util.logging.LogRecord(java.util.logging.Level.INFO, "warm-up"));
        java.time.ZoneId.systemDefault().getRules();
        loadClassDirectories();
    }

    /**
     * Loads (without initialising) every class in the directories of this JVM's class and module path.
     * A jar is opened once and stays open, but a directory of classes (a build's target/classes, as tests
     * and embedders run from) needs an open per class, which the filter then refuses; so classes the
     * helper meets only later, on an error path say, are loaded now. Nothing to do when running from jars.
     */
    private static void loadClassDirectories() {
        ClassLoader loader = ClassLoader.getSystemClassLoader();
        for (String property : List.of("java.class.path", "jdk.module.path")) {
            for (String entry : System.getProperty(property, "").split(java.io.File.pathSeparator)) {
                java.nio.file.Path dir = java.nio.file.Path.of(entry.isEmpty() ? "/nonexistent" : entry);
                if (!java.nio.file.Files.isDirectory(dir)) continue;
                try (var files = java.nio.file.Files.walk(dir)) {
                    files.map(f -> dir.relativize(f).toString())
                            .filter(f -> f.endsWith(".class") && !f.endsWith("module-info.class") && !f.startsWith("META-INF"))
                            .forEach(f -> {
                                try {
                                    Class.forName(f.substring(0, f.length() - 6).replace('/', '.'), false, loader);
                                } catch (ClassNotFoundException | LinkageError e) {
                                    // a class this helper cannot load (a test's optional dependency) it will not need
                                }
                            });
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException("loading the classes in " + dir, e);
                }
            }
        }
    }

    /**
     * macOS: the device's deny-default Seatbelt profile ({@link SeatbeltProfile}) over this JDK and this
     * JVM's code path, through {@link MacSandbox}. Unverified (no Mac here). There is no log mode: a
     * Seatbelt denial is reported by the system's sandbox log, not to jvmm.
     */
    private static void lockDownMac(String device, SeccompMode mode) {
        if (mode == SeccompMode.LOG) {
            throw new UnsupportedOperationException("--sandbox-log exists on Linux only; macOS logs sandbox denials itself (log stream --predicate 'sender == \"Sandbox\"')");
        }
        List<java.nio.file.Path> code = new java.util.ArrayList<>();
        for (String property : List.of("jdk.module.path", "java.class.path")) {
            for (String entry : System.getProperty(property, "").split(java.io.File.pathSeparator)) {
                if (!entry.isEmpty()) code.add(java.nio.file.Path.of(entry).toAbsolutePath());
            }
        }
        MacSandbox.init(new SeatbeltProfile(device, java.nio.file.Path.of(System.getProperty("java.home")), code, List.of()).text());
    }

    /**
     * How a jailed helper's exit status reads in a log line: a status of 128 + 31 is bwrap reporting
     * its child killed by SIGSYS, which under an enforcing policy means a system call outside it.
     */
    public static String describeExit(int status) {
        if (status == 128 + 31) {
            return "killed by its seccomp policy (SIGSYS) for a system call outside it; run with --sandbox-log to see which";
        }
        if (status > 128 && status < 128 + 65) return "killed by signal " + (status - 128);
        return "exited with status " + status;
    }
}
