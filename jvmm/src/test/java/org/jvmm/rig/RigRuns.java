package org.jvmm.rig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.module.Configuration;
import java.lang.module.ModuleFinder;
import java.lang.module.ResolvedModule;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * What the x86 and arm64 nested-rig tests share: staging this build's jvmm modules for the payload disk,
 * running a rig script under a hang guard, and reading what L1's console said.
 */
final class RigRuns {

    /** The guest kit's /init line: only a booted kernel with a working userspace prints it. */
    static final Pattern GUEST_UP = Pattern.compile("JVMM-GUEST-UP cpus=(\\d+) mem_kb=(\\d+) kernel=(\\S+)");
    private static final Pattern PAYLOAD_EXIT = Pattern.compile("(^|\\s)RIG-PAYLOAD-EXIT=(\\d+)\\s*$");
    private static final Pattern RESULT = Pattern.compile("^RIG-RESULT .*");
    /**
     * L1's own kernel panicking. L1's kernel writes to the console unprefixed; everything L2 and its VMM print
     * comes through l1-init's time-stamping wrapper ({@code 00:00:47.701499 ...}), so L2 cannot fake this line.
     */
    static final Pattern L1_PANIC = Pattern.compile("^\\[\\s*[0-9.]+\\] Kernel panic - not syncing");

    private RigRuns() {}

    /** The repository root, as Surefire passes it. */
    static Path repoRoot() {
        String repoRoot = System.getProperty("jvmm.repoRoot");
        return repoRoot != null ? Path.of(repoRoot) : Path.of("").toAbsolutePath().getParent();
    }

    /**
     * Runs {@code command} (a run-rig script) from {@code root} and returns its output, lines without carriage
     * returns, echoing each to standard output so a failure's report shows how far L1 and L2 got. Fails if
     * it outlives {@code hangGuardSeconds}, or if it failed before any payload ran (unless L1 panicked: the
     * caller decides about that).
     */
    static List<String> run(Path root, List<String> command, long hangGuardSeconds) throws Exception {
        Process process = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        List<String> lines = new ArrayList<>();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    String clean = line.replace("\r", "");
                    synchronized (lines) { lines.add(clean); }
                    System.out.println(clean);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        if (!process.waitFor(hangGuardSeconds, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            reader.join(10_000);
            synchronized (lines) { fail("the rig hung (" + hangGuardSeconds + " s)\n" + tail(lines)); }
        }
        reader.join(30_000);
        synchronized (lines) {
            List<String> out = List.copyOf(lines);
            if (l1Panicked(out)) return out;
            assertTrue(out.stream().anyMatch(l -> RESULT.matcher(l).matches()) || process.exitValue() == 0,
                    "run-rig failed before any payload ran (exit " + process.exitValue() + ")\n" + tail(out));
            return out;
        }
    }

    /** Whether L1's own kernel panicked during the run. */
    static boolean l1Panicked(List<String> out) {
        return out.stream().anyMatch(l -> L1_PANIC.matcher(l).find());
    }

    /** The payload's exit status inside L1 (the last one, if it ran more than once). */
    static int payloadExit(List<String> out) {
        return out.stream().map(PAYLOAD_EXIT::matcher).filter(Matcher::find)
                .mapToInt(m -> Integer.parseInt(m.group(2))).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("no RIG-PAYLOAD-EXIT line: L1 did not finish the payload\n" + tail(out)));
    }

    /**
     * The jars {@code bin/jvmm} puts on its module path, from this build: {@code org.jvmm.cli} resolved (with
     * service binding, as {@code java -m} does) against this test's class path, each resolved module copied
     * (a jar) or packed (a classes directory) into {@code staged}. Unchanged modules keep their jar and its
     * time, so the rig's payload disk is rebuilt only when jvmm changed.
     */
    static Path stageJvmmModules(Path staged) throws IOException {
        Path[] entries = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.isEmpty()).map(Path::of).filter(Files::exists)
                .filter(p -> !p.endsWith("test-classes")).toArray(Path[]::new);
        Configuration resolved = ModuleLayer.boot().configuration()
                .resolveAndBind(ModuleFinder.of(entries), ModuleFinder.of(), Set.of("org.jvmm.cli"));
        Files.createDirectories(staged);
        Set<Path> wanted = new HashSet<>();
        for (ResolvedModule module : resolved.modules()) {
            Path from = Path.of(module.reference().location().orElseThrow());
            Path to = staged.resolve(module.name() + ".jar");
            wanted.add(to);
            if (Files.isDirectory(from)) {
                FileTime newest = newestIn(from);
                if (!Files.exists(to) || Files.getLastModifiedTime(to).compareTo(newest) < 0) {
                    Files.deleteIfExists(to);
                    int status = ToolProvider.findFirst("jar").orElseThrow()
                            .run(System.out, System.err, "--create", "--file", to.toString(), "-C", from.toString(), ".");
                    assertEquals(0, status, "jar of " + from);
                    Files.setLastModifiedTime(to, newest);
                }
            } else if (!Files.exists(to) || Files.size(to) != Files.size(from)
                    || !Files.getLastModifiedTime(to).equals(Files.getLastModifiedTime(from))) {
                Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        try (Stream<Path> old = Files.list(staged)) {
            for (Path p : old.filter(p -> !wanted.contains(p)).toList()) Files.delete(p);
        }
        return staged;
    }

    private static FileTime newestIn(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).map(p -> {
                try {
                    return Files.getLastModifiedTime(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).max(FileTime::compareTo).orElse(FileTime.fromMillis(0));
        }
    }

    /** Whether {@code tool} is on the PATH (or in the sbin directories, where Debian keeps mkfs and depmod). */
    static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/sbin:/usr/sbin:/bin:/usr/bin";
        return Stream.of(path.split(":")).filter(d -> !d.isEmpty()).anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    /** Where {@code tool} is, searched like {@link #onPath}, or null. */
    static Path tool(String tool) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/sbin:/usr/sbin:/bin:/usr/bin";
        return Stream.of(path.split(":")).filter(d -> !d.isEmpty()).map(d -> Path.of(d, tool))
                .filter(Files::isExecutable).findFirst().orElse(null);
    }

    /** A finished short command: its exit status, its standard output lines, and both streams as one text. */
    record Result(int status, List<String> stdout, String output) {}

    /** Runs a short host command (mkfs, debugfs) from {@code root} under a one-minute hang guard. */
    static Result exec(Path root, List<String> command) throws Exception {
        Path out = Files.createTempFile("rig-exec", ".out"), err = Files.createTempFile("rig-exec", ".err");
        try {
            Process process = new ProcessBuilder(command).directory(root.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail(String.join(" ", command) + " hung");
            }
            String stdout = Files.readString(out);
            return new Result(process.exitValue(), stdout.lines().toList(), stdout + Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Skips the test for a missing prerequisite, or fails it under {@code -Djvmm.requireAll=true}. */
    static void require(boolean present, String what) {
        if (present) return;
        if (Boolean.getBoolean("jvmm.requireAll")) fail("nested rig prerequisite: " + what);
        Assumptions.abort("nested rig prerequisite: " + what);
    }

    /** The last lines of L1's console, for a failure message. */
    static String tail(List<String> lines) {
        return "--- last lines of L1's console ---\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
