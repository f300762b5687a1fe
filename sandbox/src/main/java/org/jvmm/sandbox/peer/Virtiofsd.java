package org.jvmm.sandbox.peer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.frontend.BackendPeer;

/**
 * One virtiofsd process: the vhost-user file-system back-end that shares a host directory with the guest
 * over FUSE (virtio 1.2 §5.11). jvmm starts it with its socket in a private directory (mode 0700), so that
 * nobody else can connect first, and with virtiofsd's own namespace sandbox (new mount, pid and network
 * namespaces, then pivot_root into the shared directory, so that it can reach nothing outside it).
 *
 * <p>Two virtiofsd programs exist, with different options: QEMU's C one (Debian 12's qemu-system-common,
 * {@code /usr/lib/qemu/virtiofsd}: {@code -o source=DIR -o sandbox=namespace}) and the Rust one (the
 * {@code virtiofsd} package from Debian 13 on, {@code /usr/libexec/virtiofsd}: {@code --shared-dir DIR
 * --sandbox namespace}); its {@code --help} tells them apart. Either listens on {@code --socket-path},
 * serves exactly one front-end, and exits when that connection closes, so virtiofsd ends with jvmm.
 */
public final class Virtiofsd implements BackendPeer {

    /** Where Debian's packages put virtiofsd: the Rust package's path first, then QEMU's C program. */
    static final List<Path> KNOWN_PLACES = List.of(Path.of("/usr/libexec/virtiofsd"), Path.of("/usr/lib/qemu/virtiofsd"),
            Path.of("/usr/libexec/qemu/virtiofsd"), Path.of("/usr/lib/virtiofsd"));

    /** How long virtiofsd may take to create its socket: generous, for a loaded host. */
    private static final int LISTEN_TIMEOUT_MILLIS = 30_000;

    private final String name;
    private final Path directory;
    private final Path socketPath;
    private final Process process;

    private Virtiofsd(String name, Path directory, Path socketPath, Process process) {
        this.name = name;
        this.directory = directory;
        this.socketPath = socketPath;
        this.process = process;
    }

    /**
     * The virtiofsd program: the system property {@code jvmm.virtiofsd} if set, else the first of Debian's
     * places and then {@code PATH} that holds an executable one.
     *
     * @throws ConfigurationException if there is none
     */
    public static Path find() {
        String chosen = System.getProperty("jvmm.virtiofsd");
        if (chosen != null && !chosen.isEmpty()) {
            Path p = Path.of(chosen);
            if (!Files.isExecutable(p)) throw new ConfigurationException("jvmm.virtiofsd names " + chosen + ", which is not an executable: fix the property.");
            return p;
        }
        List<Path> places = new ArrayList<>(KNOWN_PLACES);
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (!dir.isEmpty()) places.add(Path.of(dir, "virtiofsd"));
        }
        return find(places);
    }

    /** The first executable of {@code places}, or the one sentence saying how to install virtiofsd. */
    static Path find(List<Path> places) {
        return places.stream().filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst()
                .orElseThrow(() -> new ConfigurationException("--fs needs virtiofsd, which is not installed:"
                        + " apt-get install virtiofsd (Debian 13 and later) or qemu-system-common (Debian 12)."));
    }

    /**
     * The arguments that make {@code program} share {@code shared} on {@code socket} in its namespace
     * sandbox, logging errors only (the C one's warnings are "TODO" notes at every disconnect): the Rust
     * virtiofsd's spelling if its {@code help} text has {@code --shared-dir}, else the C virtiofsd's.
     */
    static List<String> arguments(Path program, String help, Path socket, Path shared) {
        List<String> args = new ArrayList<>(List.of(program.toString(), "--socket-path=" + socket));
        if (help.contains("--shared-dir")) {
            args.addAll(List.of("--shared-dir=" + shared, "--sandbox=namespace", "--log-level=error"));
        } else {
            args.addAll(List.of("-o", "source=" + shared, "-o", "sandbox=namespace", "-o", "log_level=err"));
        }
        return args;
    }

    /**
     * Starts virtiofsd sharing {@code shared} without waiting for it to listen; its messages go to jvmm's
     * standard error.
     *
     * @param name a name for messages: "virtiofsd for share"
     * @throws ConfigurationException if the directory is not one, or virtiofsd is missing or cannot start
     */
    public static Virtiofsd start(String name, Path shared) {
        if (!Files.isDirectory(shared)) {
            throw new ConfigurationException("The directory to share, " + shared + ", is not a directory: check --fs TAG:DIR.");
        }
        Path program = find();
        Path dir;
        try {
            dir = Files.createTempDirectory("jvmm-virtiofsd", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new ConfigurationException("Cannot create a directory for virtiofsd's socket (" + e.getMessage() + "): set TMPDIR to a writable directory.");
        }
        Path socket = dir.resolve("fs.sock");
        try {
            List<String> command = arguments(program, help(program), socket, shared.toAbsolutePath());
            Process p = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            return new Virtiofsd(name, dir, socket, p);
        } catch (IOException e) {
            deleteQuietly(dir);
            throw new ConfigurationException("Cannot start " + program + " (" + e.getMessage() + "): check that it runs, or remove the --fs option.");
        }
    }

    /** {@code program --help}, both streams (the C virtiofsd prints it on standard output, others may not). */
    private static String help(Path program) throws IOException {
        Process p = new ProcessBuilder(program.toString(), "--help").redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        byte[] text = p.getInputStream().readNBytes(1 << 16);
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        return new String(text, StandardCharsets.UTF_8);
    }

    /** The process, for tests and fault injection. */
    public Process process() {
        return process;
    }

    /**
     * Waits for virtiofsd to listen, connects, and removes the socket file and its directory (virtiofsd
     * accepts one front-end, which is now jvmm). Returns the connected socket, owned by the caller.
     *
     * @throws ConfigurationException if virtiofsd exits or does not listen in time
     */
    public int connect() {
        try {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LISTEN_TIMEOUT_MILLIS);
            while (true) {
                if (Files.exists(socketPath)) {
                    int fd = LinuxLibc.socket(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
                    try {
                        LinuxLibc.connectUnix(fd, socketPath.toString());
                        return fd;
                    } catch (SysException notListeningYet) {
                        // the file exists a moment before listen(): try again below
                        LinuxLibc.close(fd);
                    }
                }
                if (!process.isAlive()) {
                    throw new ConfigurationException(capitalized(name) + " ended before it listened (" + fate()
                            + "): see its message above, or check the directory given to --fs.");
                }
                if (System.nanoTime() > deadline) {
                    throw new ConfigurationException(capitalized(name) + " did not listen within " + LISTEN_TIMEOUT_MILLIS / 1000
                            + " s: the host is overloaded or virtiofsd hangs; try again.");
                }
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConfigurationException("Interrupted while waiting for " + name + ": try again.");
        } finally {
            deleteQuietly(socketPath);
            deleteQuietly(directory);
        }
    }

    /** What became of virtiofsd: "" while it runs (after a short wait), else its exit status or signal. */
    @Override
    public String fate() {
        return BackendPeer.fateOf(process, name, status -> null);
    }

    /** Waits a moment for virtiofsd to exit on its own (its connection is closed by now), then kills it. */
    @Override
    public void close() {
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        deleteQuietly(socketPath);
        deleteQuietly(directory);
    }

    private static String capitalized(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover empty directory in the temporary directory is harmless
        }
    }
}
