package org.jvmm.sandbox.jail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jvmm.core.ConfigurationException;

/**
 * Wraps a helper's command in bubblewrap ({@code bwrap}): new user (see below), pid, mount, network, IPC,
 * UTS and (where possible) cgroup namespaces, and an empty root into which only the JDK, jvmm's jars and what
 * the caller names are bound, read-only unless said otherwise.
 *
 * <p>What the helper JVM finds inside, each item measured as necessary (Temurin 25, Debian 12):
 * <ul>
 * <li>the JDK's directory, the dynamic loader and the system libraries the JDK links ({@link JvmFiles});</li>
 * <li>{@code /proc} of the new pid namespace: the loader resolves the launcher's {@code $ORIGIN} (where
 *     {@code libjli.so} is) through {@code /proc/self/exe} (a blk helper no longer reopens its disk
 *     through {@code /proc/self/fd}: it does its I/O on the handed descriptor); bwrap mounts it with
 *     {@code /proc/sys} read-only;</li>
 * <li>no {@code /dev}, {@code /tmp}, {@code /etc} or {@code /sys}: the JVM starts without them (run it
 *     with {@code -XX:-UsePerfData}, which otherwise wants {@code /tmp}), and the root itself is
 *     remounted read-only, so the helper can create no file anywhere.</li>
 * </ul>
 *
 * <p>The one exception: the kernel refuses a user namespace to a chrooted process (jvmm runs in a
 * chroot in the nested rig's L1), so where bwrap cannot make one ({@link #userNamespaces}) the helper
 * gets every namespace but that one, still with no capabilities and with its seccomp filter. Measured:
 * as root in a chroot {@code --unshare-user} (and {@code --unshare-user-try}, which only checks that user
 * namespaces exist) fails with "No permissions to create new namespace", and without it the sandbox
 * works; for anyone but root bwrap cannot make the other namespaces either and says so itself.
 *
 * <p>Other choices: no {@code --new-session} by default. It would detach the helper from jvmm's terminal
 * so that it cannot push input into it with {@code TIOCSTI}, but it also puts the helper in a scheduler
 * autogroup of its own (kernel.sched_autogroup_enabled), which on a busy host gets one group's share of
 * the CPU against each other session: measured with two busy loops on a 2-core host, a blk helper with it
 * made 0.57–0.61 of the plain helper's IOPS, without it 0.95–0.97 (BENCHMARKS.md). The enforcing seccomp
 * filter already stops {@code TIOCSTI} (no helper policy allows that ioctl), and the helper installs it
 * before it reads its first vhost-user message, so before anything the guest controls reaches it;
 * {@link #newSession} asks for it where no filter enforces (the {@code --sandbox-log} mode). {@code --clearenv} leaves no environment
 * ({@code JAVA_TOOL_OPTIONS} would otherwise reach the helper). {@code --cap-drop ALL} leaves the helper
 * none of the capabilities it would otherwise hold in its own user namespace. {@code --die-with-parent}
 * kills the helper when jvmm dies; note that Linux sends that signal when the <em>thread</em> that
 * started the helper ends, so start helpers from a thread that lives as long as the VM.
 *
 * <p>Descriptors the helper inherits stay open: bwrap does not close them, and the helper command
 * follows {@code --} unchanged. A Unix socket the helper should connect to must be a path bound in with
 * {@link #bind}: abstract sockets belong to the network namespace the helper leaves.
 */
public final class Bubblewrap {

    /** The sentence jvmm prints when bubblewrap is missing. */
    public static final String MISSING = "jvmm sandboxes its device helpers with bubblewrap, which is not installed: "
            + "install bubblewrap (apt-get install bubblewrap) or run with --sandbox=none.";

    private final Path bwrap;
    private Path javaHome = Path.of(System.getProperty("java.home"));
    private final Map<Path, Path> readOnly = new LinkedHashMap<>();
    private final List<Path> readWrite = new ArrayList<>();
    private boolean newSession;

    private Bubblewrap(Path bwrap) {
        this.bwrap = bwrap;
    }

    /** Uses the {@code bwrap} on the PATH (or in /usr/bin); throws {@link ConfigurationException} if there is none. */
    public static Bubblewrap locate() {
        return new Bubblewrap(find().orElseThrow(() -> new ConfigurationException(MISSING)));
    }

    /** Uses the bubblewrap executable at {@code bwrap}. */
    public static Bubblewrap at(Path bwrap) {
        if (!Files.isExecutable(bwrap)) throw new ConfigurationException(MISSING);
        return new Bubblewrap(bwrap);
    }

    /** The {@code bwrap} executable on the PATH or in /usr/bin, if any. */
    public static Optional<Path> find() {
        List<String> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) dirs.addAll(List.of(path.split(File.pathSeparator)));
        dirs.add("/usr/bin");
        return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, "bwrap"))
                .filter(Files::isExecutable).findFirst();
    }

    /** The JDK whose {@code bin/java} the helper command runs; by default this JVM's. */
    public Bubblewrap javaHome(Path home) {
        this.javaHome = absolute(home);
        return this;
    }

    /** Binds {@code path} (a jar, a directory of classes, an AOT cache) read-only at the same path. */
    public Bubblewrap readOnly(Path path) {
        Path p = absolute(path);
        readOnly.put(p, p);
        return this;
    }

    /** Runs the helper in a session of its own ({@code --new-session}): see the class comment for when. */
    public Bubblewrap newSession() {
        newSession = true;
        return this;
    }

    /** Binds {@code path} writable at the same path: meant for the Unix socket the helper connects to. */
    public Bubblewrap bind(Path path) {
        readWrite.add(absolute(path));
        return this;
    }

    /** The full command: bwrap, its options, {@code --}, then {@code helperCommand} unchanged. */
    public List<String> wrap(List<String> helperCommand) {
        if (helperCommand.isEmpty()) throw new IllegalArgumentException("no helper command to wrap");
        List<String> c = new ArrayList<>(List.of(bwrap.toString(),
                "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--clearenv", "--cap-drop", "ALL"));
        if (newSession) c.add(1, "--new-session");
        if (userNamespaces(bwrap)) c.add(1, "--unshare-user");
        Map<Path, Path> binds = new LinkedHashMap<>();
        binds.put(javaHome, javaHome);
        binds.putAll(JvmFiles.systemFiles(javaHome));
        binds.putAll(readOnly);
        binds.forEach((dest, src) -> c.addAll(List.of("--ro-bind", src.toString(), dest.toString())));
        for (Path p : readWrite) c.addAll(List.of("--bind", p.toString(), p.toString()));
        c.addAll(List.of("--proc", "/proc", "--remount-ro", "/", "--chdir", "/", "--"));
        c.addAll(helperCommand);
        return c;
    }

    /** Whether bwrap can make a user namespace here; asked once per bwrap and remembered. */
    private static final java.util.concurrent.ConcurrentHashMap<Path, Boolean> USER_NAMESPACES = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Whether {@code bwrap} can create a user namespace from this process: it runs itself once inside
     * one. The kernel's rule (no user namespace for a chrooted process) depends on the mount and the
     * directory of the root, which a test of inodes cannot see through a bind mount; trying is exact.
     */
    static boolean userNamespaces(Path bwrap) {
        return USER_NAMESPACES.computeIfAbsent(bwrap, b -> {
            try {
                Process p = new ProcessBuilder(b.toString(), "--unshare-user", "--ro-bind", "/", "/", "--", b.toString(), "--version")
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                return p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (java.io.IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
    }

    private static Path absolute(Path p) {
        if (!p.isAbsolute()) throw new IllegalArgumentException("a path to bind into the sandbox must be absolute: " + p);
        return p.normalize();
    }
}
