package org.jvmm.arm64.hvf;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Builds what the HVF tests run on: hvfsim ({@code src/test/hvfsim/hvfsim.c}, a SIMULATED Hypervisor.framework
 * on Unicorn — not Apple's) with gcc and libunicorn-dev, and the arm64 conformance guests
 * ({@code src/test/guests/*.S}) with Debian's aarch64 cross toolchain, into {@code target/hvfsim}. A missing tool
 * skips the test, or fails it when {@code jvmm.requireAll} is set.
 */
final class HvfSim {

    private HvfSim() {}

    private static Path library;

    /** The module directory (surefire runs in it; jvmm.repoRoot points at the repository). */
    static Path moduleDir() {
        String root = System.getProperty("jvmm.repoRoot");
        Path p = root != null ? Path.of(root, "arch-arm64") : Path.of("").toAbsolutePath();
        return Files.isDirectory(p.resolve("src/test/hvfsim")) ? p : Path.of("").toAbsolutePath();
    }

    private static Path out() throws IOException {
        return Files.createDirectories(moduleDir().resolve("target/hvfsim"));
    }

    /** Points {@link Hvf} at the simulator, building it first. */
    static synchronized void install() throws IOException, InterruptedException {
        if (library == null) {
            requireTool("gcc", "gcc");
            if (!Files.exists(Path.of("/usr/include/unicorn/unicorn.h"))) missing("libunicorn-dev (Unicorn's headers)");
            Path so = out().resolve("libhvfsim.so");
            Path src = moduleDir().resolve("src/test/hvfsim/hvfsim.c");
            run(List.of("gcc", "-Wall", "-Werror", "-Wno-unused-parameter", "-shared", "-fPIC", "-O2", "-o", so.toString(),
                    src.toString(), "-lunicorn", "-lpthread"));
            library = so;
        }
        System.setProperty(Hvf.LIBRARY_PROPERTY, library.toString());
    }

    /**
     * Calls one of hvfsim's test-only inspection functions ({@code long f(uint64_t)}), widened to long; they
     * read the simulator's state and are not part of Hypervisor.framework.
     */
    static long call(String function, long argument) throws Throwable {
        MethodHandle h = Linker.nativeLinker().downcallHandle(
                SymbolLookup.libraryLookup(library, Arena.global()).find(function).orElseThrow(),
                FunctionDescriptor.of(function.equals("hvsim_ppi_pending") ? ValueLayout.JAVA_LONG : ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG));
        Object r = h.invoke(argument);
        return r instanceof Integer i ? i : (Long) r;
    }

    /** Leaves the process as it was, so other tests see the platform's usual backend choice. */
    static void uninstall() {
        System.clearProperty(Hvf.LIBRARY_PROPERTY);
    }

    /** Assembles and links conformance guest {@code name}.S into a flat arm64 Image. */
    static Path guest(String name) throws IOException, InterruptedException {
        for (String t : List.of("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-ld", "aarch64-linux-gnu-objcopy")) {
            requireTool(t, t.endsWith("gcc") ? "gcc-aarch64-linux-gnu" : "binutils-aarch64-linux-gnu");
        }
        Path dir = moduleDir().resolve("src/test/guests");
        Path o = out().resolve(name + ".o"), elf = out().resolve(name + ".elf"), img = out().resolve(name + ".img");
        run(List.of("aarch64-linux-gnu-gcc", "-c", "-I", dir.toString(), "-o", o.toString(), dir.resolve(name + ".S").toString()));
        run(List.of("aarch64-linux-gnu-ld", "-Ttext=0x40000000", "-o", elf.toString(), o.toString()));
        run(List.of("aarch64-linux-gnu-objcopy", "-O", "binary", elf.toString(), img.toString()));
        return img;
    }

    /**
     * Compiles the freestanding C guest {@code source} (no FP/SIMD registers, so every MMIO access is a plain
     * LDR/STR) behind {@code virtio_start.S}'s Image header into a flat arm64 Image.
     */
    static Path cGuest(Path source) throws IOException, InterruptedException {
        for (String t : List.of("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-ld", "aarch64-linux-gnu-objcopy")) {
            requireTool(t, t.endsWith("gcc") ? "gcc-aarch64-linux-gnu" : "binutils-aarch64-linux-gnu");
        }
        Path dir = moduleDir().resolve("src/test/guests");
        String name = source.getFileName().toString().replaceFirst("\\.c$", "");
        Path start = out().resolve(name + "_start.o"), o = out().resolve(name + ".o");
        Path elf = out().resolve(name + ".elf"), img = out().resolve(name + ".img");
        run(List.of("aarch64-linux-gnu-gcc", "-c", "-I", dir.toString(), "-o", start.toString(),
                dir.resolve("virtio_start.S").toString()));
        run(List.of("aarch64-linux-gnu-gcc", "-c", "-ffreestanding", "-fno-builtin", "-fno-pie", "-mgeneral-regs-only", "-O2",
                "-Wall", "-Wextra", "-Werror", "-o", o.toString(), source.toString()));
        run(List.of("aarch64-linux-gnu-ld", "-T", dir.resolve("virtio.ld").toString(), "--build-id=none", "-o", elf.toString(),
                start.toString(), o.toString()));
        run(List.of("aarch64-linux-gnu-objcopy", "-O", "binary", elf.toString(), img.toString()));
        return img;
    }

    private static void requireTool(String tool, String pkg) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) return;
        }
        missing(tool + " (Debian package " + pkg + ")");
    }

    private static void missing(String what) {
        if (Boolean.getBoolean("jvmm.requireAll")) fail(what + " is missing and jvmm.requireAll is set: install it");
        Assumptions.abort(what + " is not installed");
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(command.getFirst() + " did not finish within 120 s");
        }
        if (p.exitValue() != 0) {
            fail(String.join(" ", command) + " failed:\n" + new String(output, StandardCharsets.UTF_8));
        }
    }
}
