package org.jvmm.x86.kvm;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jvmm.x86.X86Layout;

/**
 * The conformance guests ({@code src/test/guests/*.asm}) and what running them needs.
 *
 * <p>Guests are assembled with nasm into flat binaries under {@code target/guests} on first use. A
 * missing prerequisite (nasm, {@code /dev/kvm}) skips the test, unless {@code jvmm.requireAll} is set, in
 * which case it fails: a CI run must not pass by skipping everything.
 */
final class Guests {

    private Guests() {}

    /** Where real-mode guests are loaded and entered (CS = 0, IP = this): above the IVT and BIOS data area. */
    static final long REAL_MODE_ENTRY = 0x1000;
    /** Where long-mode guests are loaded and entered: where a Linux kernel goes. */
    static final long LONG_MODE_ENTRY = X86Layout.KERNEL_LOAD;

    private static final boolean REQUIRE_ALL = Boolean.getBoolean("jvmm.requireAll");

    /** Skips (or, with jvmm.requireAll, fails) unless /dev/kvm exists. */
    static void requireKvm() {
        require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm is missing");
    }

    /** The KVM options the tests use: the layout's addresses for KVM's Intel-only pages. */
    static KvmX86Options options(boolean irqchip) {
        return new KvmX86Options(irqchip, X86Layout.KVM_TSS, X86Layout.KVM_IDENTITY_MAP);
    }

    /** Assembles {@code name}.asm (if not already current) and returns the binary's path. */
    static Path binary(String name) {
        Path source = moduleDir().resolve("src/test/guests/" + name + ".asm");
        Path out = moduleDir().resolve("target/guests/" + name + ".bin");
        try {
            if (Files.exists(out) && Files.getLastModifiedTime(out).compareTo(Files.getLastModifiedTime(source)) >= 0) {
                return out;
            }
            Files.createDirectories(out.getParent());
            Process p;
            try {
                p = new ProcessBuilder("nasm", "-f", "bin", "-o", out.toString(), source.toString())
                        .redirectErrorStream(true).start();
            } catch (IOException e) {
                require(false, "nasm is not installed (apt-get install nasm)");
                throw new AssertionError(e);
            }
            String output = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("nasm failed on " + source + ":\n" + output);
            }
            return out;
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static byte[] bytes(String name) {
        try {
            return Files.readAllBytes(binary(name));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Path moduleDir() {
        Path here = Path.of("").toAbsolutePath();
        if (Files.isDirectory(here.resolve("src/test/guests"))) return here;
        String root = System.getProperty("jvmm.repoRoot");
        return root != null ? Path.of(root, "arch-x86") : here.resolve("arch-x86");
    }

    private static void require(boolean present, String what) {
        if (!present && REQUIRE_ALL) throw new AssertionError(what + " and jvmm.requireAll is set");
        assumeTrue(present, what);
    }
}
