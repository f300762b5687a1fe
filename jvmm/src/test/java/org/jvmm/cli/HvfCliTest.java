package org.jvmm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.jvmm.arm64.hvf.Hvf;
import org.jvmm.virtio.mmio.VirtioMmioTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jvmm --arch arm64 --kernel IMAGE --disk FILE --console stdio} as it runs on a Mac, with everything
 * jvmm would do there except the framework and the jail: on hvfsim (the simulated Hypervisor.framework of
 * {@code arch-arm64/src/test/hvfsim}, not Apple's) and with the default {@code --sandbox=process}, so the disk
 * and the console are served by helper processes (jailed here by bubblewrap and seccomp, where macOS would
 * apply their Seatbelt profiles), kicked through pipes on QueueNotify exits (Hypervisor.framework has no
 * ioeventfd), on guest RAM shared as descriptors. The C virtio test guest must pass every check, the console
 * must carry the line typed on jvmm's standard input and the guest's answer, every broken ring must be
 * reported by a helper, and the image must hold the guest's writes.
 */
@Timeout(180)
class HvfCliTest {

    static final String HOST_LINE = "ping from the host\n";

    @TempDir Path dir;

    static Path root() {
        return Path.of(System.getProperty("jvmm.repoRoot", "..")).toAbsolutePath();
    }

    /** hvfsim, built as arch-arm64's tests build it. */
    Path simulator() throws IOException, InterruptedException {
        TestTools.require(TestTools.onPath("gcc"), "gcc");
        TestTools.require(Files.exists(Path.of("/usr/include/unicorn/unicorn.h")), "libunicorn-dev (Unicorn's headers)");
        TestTools.run(dir, "gcc", "-Wall", "-Werror", "-Wno-unused-parameter", "-shared", "-fPIC", "-O2", "-o", "libhvfsim.so",
                root().resolve("arch-arm64/src/test/hvfsim/hvfsim.c").toString(), "-lunicorn", "-lpthread");
        return dir.resolve("libhvfsim.so");
    }

    /** The C virtio test guest as an arm64 Image, built as arch-arm64's HvfVirtioTest builds it. */
    Path guest() throws IOException, InterruptedException {
        for (String t : List.of("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-ld", "aarch64-linux-gnu-objcopy")) TestTools.require(TestTools.onPath(t), t);
        Path guests = root().resolve("arch-arm64/src/test/guests");
        TestTools.run(dir, "aarch64-linux-gnu-gcc", "-c", "-I", guests.toString(), "-o", "start.o", guests.resolve("virtio_start.S").toString());
        TestTools.run(dir, "aarch64-linux-gnu-gcc", "-c", "-ffreestanding", "-fno-builtin", "-fno-pie", "-mgeneral-regs-only", "-O2",
                "-Wall", "-Wextra", "-Werror", "-o", "virtio_test.o", root().resolve("guests/virtio/virtio_test.c").toString());
        TestTools.run(dir, "aarch64-linux-gnu-ld", "-T", guests.resolve("virtio.ld").toString(), "--build-id=none", "-o", "virtio_test.elf",
                "start.o", "virtio_test.o");
        TestTools.run(dir, "aarch64-linux-gnu-objcopy", "-O", "binary", "virtio_test.elf", "virtio_test.img");
        return dir.resolve("virtio_test.img");
    }

    @Test
    void theDefaultSandboxServesTheArm64GuestFromHelpersKickedThroughPipes() throws Exception {
        Path library = simulator();
        Path kernel = guest();
        byte[] initial = new byte[64 * 512];
        Arrays.fill(initial, (byte) 0x5c);
        Path disk = Files.write(dir.resolve("disk.img"), initial);

        List<String> reasons = Collections.synchronizedList(new ArrayList<>());
        Logger transportLog = Logger.getLogger(VirtioMmioTransport.class.getName());
        Level levelBefore = transportLog.getLevel();
        Handler needsReset = new Handler() {
            @Override public void publish(LogRecord r) {
                if (r.getMessage().contains("device needs reset") && r.getParameters() != null && r.getParameters().length > 1) {
                    reasons.add(String.valueOf(r.getParameters()[1]));
                }
            }
            @Override public void flush() {}
            @Override public void close() {}
        };
        transportLog.setLevel(Level.ALL);
        transportLog.addHandler(needsReset);
        System.setProperty(Hvf.LIBRARY_PROPERTY, library.toString());
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status;
        try {
            status = CompletableFuture.supplyAsync(() -> Jvmm.execute(new String[] {
                            "--arch", "arm64", "--kernel", kernel.toString(), "--mem", "64M", "--cpus", "1",
                            "--disk", disk.toString(), "--console", "stdio"},
                    new ByteArrayInputStream(HOST_LINE.getBytes(StandardCharsets.UTF_8)), out,
                    new PrintStream(err, true, StandardCharsets.UTF_8), false)).get(150, TimeUnit.SECONDS); // hang guard
        } finally {
            System.clearProperty(Hvf.LIBRARY_PROPERTY);
            transportLog.removeHandler(needsReset);
            transportLog.setLevel(levelBefore);
        }
        String console = out.toString(StandardCharsets.UTF_8), messages = err.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, console + messages);

        // The PL011 transcript and the virtio console share standard output; the checks are the PL011's lines, in order.
        List<String> expected = new ArrayList<>(List.of("VIRTIO: start aarch64"));
        for (String check : Files.readAllLines(root().resolve("guests/virtio/checks.txt"))) {
            if (!check.isBlank() && !check.startsWith("#")) expected.add("VIRTIO: ok " + check);
        }
        expected.add("VIRTIO: PASS");
        assertEquals(expected, console.lines().filter(l -> l.startsWith("VIRTIO: ")).toList(), console + messages);
        assertTrue(console.contains("hello from aarch64\n"), "the guest's greeting on the virtio console:\n" + console);
        assertTrue(console.contains("echo: " + HOST_LINE), "the typed line, echoed by the guest:\n" + console);
        assertEquals(6, reasons.size(), "one NEEDS_RESET per broken ring: " + reasons);
        for (String r : reasons) {
            assertTrue(r.contains("the vhost-user back-end reported an error"), "reported by a helper, not in-process: " + r);
        }
        byte[] file = Files.readAllBytes(disk);
        for (int i = 0; i < file.length; i++) {
            int sector = i / 512, offset = i % 512;
            byte want = sector >= 1 && sector <= 7 ? (byte) (sector * 31 + offset * 7 + 3) : (byte) 0x5c;
            assertEquals(want, file[i], "image byte " + i);
        }
    }
}
