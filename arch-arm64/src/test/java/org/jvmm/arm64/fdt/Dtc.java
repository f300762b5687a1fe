package org.jvmm.arm64.fdt;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Runs the Device Tree Compiler ({@code dtc}, Debian package device-tree-compiler) as an independent reader of our blobs. */
final class Dtc {

    /** What {@code dtc -I dtb -O dts} printed: the source on stdout, warnings and errors on stderr. */
    record Result(int exitCode, String dts, String diagnostics) {}

    private Dtc() {}

    static Path executable() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir, "dtc");
            if (Files.isExecutable(p)) return p;
        }
        if (Boolean.getBoolean("jvmm.requireAll")) {
            fail("dtc is missing: install the device-tree-compiler package (jvmm.requireAll is set)");
        }
        Assumptions.abort("dtc is not installed (package device-tree-compiler)");
        return null;
    }

    static Result decompile(byte[] dtb) throws IOException, InterruptedException {
        Path dtc = executable();
        Path file = Files.createTempFile("jvmm-", ".dtb");
        try {
            Files.write(file, dtb);
            Process p = new ProcessBuilder(dtc.toString(), "-I", "dtb", "-O", "dts", "-o", "-", file.toString()).start();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("dtc did not finish within 30 s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
