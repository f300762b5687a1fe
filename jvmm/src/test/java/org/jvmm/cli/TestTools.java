package org.jvmm.cli;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** What this package's tests need of the host: tools they require, and commands they run to build guests. */
final class TestTools {

    private TestTools() {}

    /** Skips the test when {@code what} is missing, or fails it when {@code jvmm.requireAll} is set (as CI sets it). */
    static void require(boolean present, String what) {
        if (!present && Boolean.getBoolean("jvmm.requireAll")) fail(what + " is missing and jvmm.requireAll is set");
        assumeTrue(present, what + " is missing");
    }

    /** Whether {@code tool} is an executable on PATH (with the sbin directories, where ip and passt may live). */
    static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) return true;
        }
        return false;
    }

    /** Runs {@code command} in {@code dir}; fails the test with its output if it fails or takes over two minutes. */
    static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(command[0] + " did not finish within 120 s:\n" + log);
        }
        if (p.exitValue() != 0) fail(String.join(" ", command) + " failed:\n" + log);
    }
}
