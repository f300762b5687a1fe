package org.jvmm.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.List;
import java.util.function.Function;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.Posix;
import org.jvmm.sandbox.frontend.BackendPeer;

/**
 * One running device helper and its connection to jvmm. {@link #start} creates a private directory
 * (mode 0700) with a listening Unix socket in it and launches the helper, without waiting; {@link #connect}
 * then accepts the helper's connection, removes the socket file, and hands the helper its device's
 * descriptors (one message: a byte 'D' with SCM_RIGHTS), after which the connection speaks vhost-user.
 *
 * <p>Helpers are launched from one long-lived thread: the helper arms PR_SET_PDEATHSIG, and Linux sends
 * that signal when the <em>thread</em> that forked the child ends, not the process, so forking from a
 * short-lived thread would kill helpers early. If jvmm dies the helper gets SIGKILL from that, and
 * besides sees its socket close.
 */
public final class HelperProcess implements BackendPeer {

    /** How long a helper JVM may take to connect: generous, because a loaded host starts JVMs slowly. */
    private static final int CONNECT_TIMEOUT_MILLIS = 60_000;
    private static final int ACCEPT_SLICE_MILLIS = 100;
    private static final ExecutorService LAUNCHER = Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().daemon().name("jvmm-helper-launcher").unstarted(r));

    private final String name;
    private final Path directory;
    private final Path socketPath;
    private final int listener;
    private final Process process;

    private HelperProcess(String name, Path directory, Path socketPath, int listener, Process process) {
        this.name = name;
        this.directory = directory;
        this.socketPath = socketPath;
        this.listener = listener;
        this.process = process;
    }

    /**
     * Launches a helper for {@code device} with {@code deviceArgs}, without waiting for it.
     *
     * @param name        a name for messages: "the blk helper for disk.img"
     * @param commandLine turns the helper's command into the argument list to execute: {@link HelperCommand#command}
     *                    for a plain process, or a jail's wrapper around it
     */
    public static HelperProcess start(String name, String device, List<String> deviceArgs,
                                      Function<HelperCommand, List<String>> commandLine) {
        Path dir;
        try {
            dir = Files.createTempDirectory("jvmm-helper", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new ConfigurationException("Cannot create a directory for the helpers' sockets (" + e.getMessage() + "): set TMPDIR to a writable directory.");
        }
        Path socket = dir.resolve(device + ".sock");
        int listener = Posix.unixSocket(false);
        try {
            Posix.bindUnix(listener, socket.toString());
            Posix.listen(listener, 1);
            ProcessBuilder pb = new ProcessBuilder(commandLine.apply(HelperCommand.of(device, deviceArgs, socket)))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            Future<Process> launched = LAUNCHER.submit(pb::start);
            Process p = launched.get();
            return new HelperProcess(name, dir, socket, listener, p);
        } catch (ExecutionException | InterruptedException | RuntimeException e) {
            Posix.close(listener);
            deleteQuietly(socket);
            deleteQuietly(dir);
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new ConfigurationException("Cannot start " + name + " (" + cause.getMessage() + "): check the JDK at "
                    + System.getProperty("java.home") + ", or run with --sandbox=none.", cause);
        }
    }

    /** {@link #start} with the plain command line, no jail. */
    public static HelperProcess start(String name, String device, List<String> deviceArgs) {
        return start(name, device, deviceArgs, HelperCommand::command);
    }

    /** The helper's process id. */
    public long pid() {
        return process.pid();
    }

    /** The process, for tests and fault injection. */
    public Process process() {
        return process;
    }

    /**
     * Waits for the helper to connect, sends it {@code descriptors} (the caller keeps its copies), and
     * returns the connected socket, owned by the caller from then on.
     *
     * @throws ConfigurationException if the helper exits or does not connect in time
     */
    public int connect(int... descriptors) {
        try {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CONNECT_TIMEOUT_MILLIS);
            while (Posix.poll(new int[] {listener}, Posix.POLLIN, ACCEPT_SLICE_MILLIS)[0] == 0) {
                if (!process.isAlive()) {
                    throw new ConfigurationException(capitalized(name) + " ended before it connected (" + fate()
                            + "): see its message above, or run with --sandbox=none.");
                }
                if (System.nanoTime() > deadline) {
                    throw new ConfigurationException(capitalized(name) + " did not connect within " + CONNECT_TIMEOUT_MILLIS / 1000
                            + " s: the host is overloaded or the helper hangs; try again or run with --sandbox=none.");
                }
            }
            int socket = Posix.accept(listener);
            try {
                Posix.sendWithFds(socket, new byte[] {'D'}, descriptors);
            } catch (RuntimeException e) {
                Posix.close(socket);
                throw e;
            }
            return socket;
        } finally {
            Posix.close(listener);
            deleteQuietly(socketPath);
            deleteQuietly(directory);
        }
    }

    /**
     * What became of the helper, for the line that reports a lost device: "" while it runs (after a
     * short wait: its socket usually closes a moment before its exit is seen), else its exit status or
     * the signal that killed it.
     */
    @Override
    public String fate() {
        // SIGSYS: under the jail, a system call outside the device's seccomp policy.
        return BackendPeer.fateOf(process, name,
                status -> status == 128 + 31 ? "was " + org.jvmm.sandbox.jail.Jail.describeExit(status) : null);
    }

    /**
     * Kills the helper at once, and every process of its jail. A bwrap killed while it still sets up the
     * sandbox leaves its child (the sandbox's init, waiting for its user namespace's uid map) blocked for
     * good, holding jvmm's standard output (seen: a Maven build that never ended). So the children go
     * first, then the process jvmm started, then any child bwrap forked in between, which is no longer
     * jvmm's descendant but still carries the helper's command line with its socket path, unique to it.
     */
    public void kill() {
        java.util.List<ProcessHandle> killed = new java.util.ArrayList<>(process.descendants().toList());
        killed.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        killed.add(process.toHandle());
        awaitEnd(killed);
        java.util.List<ProcessHandle> strays = new java.util.ArrayList<>();
        for (long pid : processesNaming(socketPath.toString())) ProcessHandle.of(pid).ifPresent(strays::add);
        strays.forEach(ProcessHandle::destroyForcibly);
        awaitEnd(strays);
    }

    /** Waits (5 s at most each) until the killed processes are gone, so that none is seen still running after kill(). */
    private static void awaitEnd(java.util.List<ProcessHandle> killed) {
        for (ProcessHandle h : killed) {
            try {
                h.onExit().get(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException | TimeoutException e) {
                // a process that will not die of SIGKILL is stuck in the kernel; nothing more to do here
            }
        }
    }

    /** The processes with {@code argument} on their command line, from /proc (Linux: where helpers run). */
    private static java.util.List<Long> processesNaming(String argument) {
        java.util.List<Long> pids = new java.util.ArrayList<>();
        try (var entries = Files.list(Path.of("/proc"))) {
            for (Path p : entries.filter(e -> e.getFileName().toString().matches("[0-9]+")).toList()) {
                try {
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), java.nio.charset.StandardCharsets.UTF_8);
                    if (java.util.Arrays.asList(cmdline.split("\0")).contains(argument)) pids.add(Long.parseLong(p.getFileName().toString()));
                } catch (IOException gone) {
                    // the process ended meanwhile
                }
            }
        } catch (IOException e) {
            // no /proc: nothing more can be found
        }
        return pids;
    }

    /** Waits a moment for the helper to exit on its own (its socket is closed by now), then kills it. */
    @Override
    public void close() {
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                kill();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            kill();
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
