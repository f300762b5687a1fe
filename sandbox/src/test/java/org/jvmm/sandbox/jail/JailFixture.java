package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Assumptions;

/**
 * What the jail's tests share: bubblewrap (required under {@code jvmm.requireAll}, else the test is
 * skipped) and the test JVM's class path as jars. A jailed helper must run from jars, as bin/jvmm's
 * helpers do: after the seccomp filter is on it can no longer open files, and a directory of classes
 * needs an open per class, where a jar is opened once at start-up.
 */
final class JailFixture {

    private JailFixture() {}

    /** The bwrap executable; aborts the test if it is missing, fails it under jvmm.requireAll. */
    static Path bwrap() {
        var found = Bubblewrap.find();
        if (found.isEmpty()) {
            if (Boolean.getBoolean("jvmm.requireAll")) fail("bubblewrap is missing: bin/test installs it (apt-get install bubblewrap)");
            Assumptions.abort("bubblewrap is not installed");
        }
        return found.get();
    }

    /** This JVM's class path with every directory packed into a jar under {@code dir}. */
    static List<Path> classPathAsJars(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        int n = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (entry.isEmpty()) continue;
            Path p = Path.of(entry).toAbsolutePath().normalize();
            if (!Files.exists(p)) continue;
            if (Files.isDirectory(p)) {
                Path jar = dir.resolve("classes-" + (n++) + ".jar");
                int status = ToolProvider.findFirst("jar").orElseThrow()
                        .run(System.out, System.err, "--create", "--file", jar.toString(), "-C", p.toString(), ".");
                assertEquals(0, status, "jar of " + p);
                out.add(jar);
            } else {
                out.add(p);
            }
        }
        return out;
    }

    /** {@code java -cp JARS MAIN ARGS} as a jailed helper would be run, wrapped in bubblewrap with the jars bound. */
    static List<String> jailedJava(List<Path> jars, List<Path> writable, String main, List<String> args) {
        Bubblewrap b = Bubblewrap.at(bwrap());
        jars.forEach(b::readOnly);
        writable.forEach(b::bind);
        List<String> c = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        c.addAll(Jail.JVM_OPTIONS);
        c.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp",
                String.join(File.pathSeparator, jars.stream().map(Path::toString).toList()), main));
        c.addAll(args);
        return b.wrap(c);
    }

    /** The JVM bwrap started: the one descendant of {@code bwrap} that runs {@code bin/java}. */
    static ProcessHandle javaIn(Process bwrap) {
        for (int i = 0; i < 100; i++) {
            var java = bwrap.descendants().filter(h -> h.info().command().map(c -> c.endsWith("/java")).orElse(false)).findFirst();
            if (java.isPresent()) return java.get();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        throw new AssertionError("no java process under bwrap pid " + bwrap.pid());
    }
}
