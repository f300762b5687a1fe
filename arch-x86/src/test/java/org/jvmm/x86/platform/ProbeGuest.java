package org.jvmm.x86.platform;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds the boot-protocol probe guest (src/test/probe: a bzImage made with nasm, gcc and ld) for a given
 * expected command line, into target/probe.
 */
final class ProbeGuest {

    private ProbeGuest() {}

    static final List<String> TOOLS = List.of("nasm", "gcc", "ld", "objcopy");

    /** Skips the calling test when a prerequisite is missing, or fails it when jvmm.requireAll is set. */
    static void require(boolean present, String what) {
        if (!present && Boolean.getBoolean("jvmm.requireAll")) fail(what + " is missing and jvmm.requireAll is set");
        assumeTrue(present, what + " is missing");
    }

    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }

    static Path sources() {
        String root = System.getProperty("jvmm.repoRoot");
        Path p = root != null ? Path.of(root, "arch-x86", "src", "test", "probe") : Path.of("src", "test", "probe");
        return Files.isDirectory(p) ? p : Path.of("src", "test", "probe");
    }

    /** Builds the probe expecting {@code cmdline}; returns the bzImage. */
    static Path build(Path out, String cmdline) throws IOException, InterruptedException {
        for (String t : TOOLS) require(onPath(t), t);
        Files.createDirectories(out);
        Path src = sources().toAbsolutePath();
        run(out, "nasm", "-f", "elf64", "-o", "header.o", src.resolve("header.asm").toString());
        run(out, "gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-Wall", "-Werror", "-DPROBE_CMDLINE=\"" + cmdline + "\"", "-o", "probe.o", src.resolve("probe.c").toString());
        run(out, "ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", src.resolve("probe.ld").toString(),
                "-o", "probe.elf", "header.o", "probe.o");
        run(out, "objcopy", "-O", "binary", "probe.elf", "probe.bzImage");
        return out.resolve("probe.bzImage");
    }

    /**
     * Builds the PVH probe (an ELF with a PVH entry note) expecting {@code cmdline} and an initrd equal to
     * {@code initrd}; returns the ELF.
     */
    static Path buildPvh(Path out, String cmdline, byte[] initrd) throws IOException, InterruptedException {
        for (String t : List.of("nasm", "ld")) require(onPath(t), t);
        Files.createDirectories(out);
        Files.writeString(out.resolve("expected-cmdline.txt"), cmdline);
        Files.write(out.resolve("initrd.bin"), initrd);
        Path src = sources().toAbsolutePath();
        run(out, "nasm", "-f", "elf64", "-I", out + "/", "-o", "pvh.o", src.resolve("pvh.asm").toString());
        run(out, "ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", src.resolve("pvh.ld").toString(),
                "-o", "pvh.elf", "pvh.o");
        return out.resolve("pvh.elf");
    }

    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(command[0] + " hung");
        }
        if (p.exitValue() != 0) fail(String.join(" ", cmd) + " failed:\n" + log);
    }
}
