package org.jvmm.loader.kit;

import org.jvmm.core.ConfigurationException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs the Debian tools the kit is built with (apt-get, apt-cache, dpkg-deb, depmod, xz, zstd). Each run is
 * bounded by a timeout, and a missing tool or a failed run becomes one {@link ConfigurationException}
 * sentence that names the tool and what to do.
 */
final class Tools {

    /** depmod lives in sbin, which a non-root PATH often lacks. */
    private static final List<String> EXTRA_DIRS = List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin");

    private Tools() {}

    /** The executable named {@code name} on PATH or in the system's sbin/bin directories. */
    static Optional<Path> find(String name) {
        List<String> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) dirs.addAll(List.of(path.split(":")));
        dirs.addAll(EXTRA_DIRS);
        for (String dir : dirs) {
            if (dir.isEmpty()) continue;
            Path candidate = Path.of(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) return Optional.of(candidate);
        }
        return Optional.empty();
    }

    /** {@link #find} or a sentence naming the Debian package that has the tool. */
    static Path require(String name, String debianPackage) {
        return find(name).orElseThrow(() -> new ConfigurationException("The guest kit needs " + name
                + ", which is not installed; install the Debian package " + debianPackage + "."));
    }

    /** The result of a finished command. */
    record Result(int status, byte[] stdout, String stderr) {
        String text() { return new String(stdout, StandardCharsets.UTF_8); }
    }

    /**
     * Runs {@code command} in {@code dir} (null: the current directory) with nothing on stdin and returns
     * its output, whatever its exit status.
     *
     * @throws ConfigurationException if it cannot start or does not finish within {@code timeout}
     */
    static Result run(List<String> command, Path dir, Duration timeout) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        if (dir != null) pb.directory(dir.toFile());
        pb.environment().put("LC_ALL", "C"); // messages and apt's output in a parseable language
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new ConfigurationException("Cannot run " + command.getFirst() + " (" + e.getMessage()
                    + "); check that it is installed and executable.", e);
        }
        // Drain stderr on its own thread so a chatty tool cannot block on a full pipe.
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread drain = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Thread reader = Thread.ofVirtual().start(() -> copy(p.getInputStream(), out));
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new ConfigurationException(String.join(" ", command) + " did not finish within "
                        + timeout.toSeconds() + " s; check the network and the package sources, then try again.");
            }
            reader.join();
            drain.join();
            return new Result(p.exitValue(), out.toByteArray(), err.toString(StandardCharsets.UTF_8).strip());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new ConfigurationException("Interrupted while running " + command.getFirst() + "; run the guest kit again.", e);
        }
    }

    /** Like {@link #run} but a non-zero exit status becomes a sentence ending with {@code advice}. */
    static Result check(List<String> command, Path dir, Duration timeout, String advice) {
        Result r = run(command, dir, timeout);
        if (r.status() != 0) {
            String why = r.stderr().isEmpty() ? "exit status " + r.status() : lastLine(r.stderr());
            throw new ConfigurationException(String.join(" ", command) + " failed (" + why + "); " + advice);
        }
        return r;
    }

    private static String lastLine(String text) {
        List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? text : lines.getLast().strip();
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        try (in) {
            in.transferTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
