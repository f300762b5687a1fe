package org.jvmm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jvmm --disk ... --on-helper-failure=stop} on the real KVM: the C virtio test guest
 * ({@code guests/virtio/virtio_test.c}) starts on a disk served by a helper process; the test kills that
 * helper with SIGKILL as soon as the guest has printed its first line, and jvmm stops the VM cleanly
 * (status 0, the guest never reaches its end) with the line that names the device and the signal.
 */
@Timeout(300)
class SandboxCliKvmTest {

    @TempDir Path dir;

    private Path buildGuest() throws IOException, InterruptedException {
        for (String tool : List.of("nasm", "gcc", "ld", "objcopy")) TestTools.require(TestTools.onPath(tool), tool);
        Path root = Path.of(System.getProperty("jvmm.repoRoot", "..")).toAbsolutePath();
        Path probe = root.resolve("arch-x86/src/test/probe");
        TestTools.run(dir, "nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        TestTools.run(dir, "gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-sse", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-o", "virtio_test.o", root.resolve("guests/virtio/virtio_test.c").toString());
        TestTools.run(dir, "ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "virtio_test.elf", "header.o", "virtio_test.o");
        TestTools.run(dir, "objcopy", "-O", "binary", "virtio_test.elf", "virtio_test.bzImage");
        return dir.resolve("virtio_test.bzImage");
    }

    @Test
    void aKilledHelperStopsTheVmCleanlyWhenAskedTo() throws Exception {
        TestTools.require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm");
        Path kernel = buildGuest();
        Path disk = Files.write(dir.resolve("disk.img"), new byte[64 * 512]);
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        List<ProcessHandle> before = ProcessHandle.current().children().toList();
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() -> Jvmm.execute(new String[] {
                        "--arch", "x86_64", "--kernel", kernel.toString(), "--mem", "64M", "--disk", disk.toString(),
                        "--sandbox", "process", "--on-helper-failure", "stop"},
                InputStream.nullInputStream(), out, new PrintStream(err, true, StandardCharsets.UTF_8), false));
        // The guest's first line: its blk helper is serving it by now.
        for (int i = 0; i < 1200 && !text(out).contains("VIRTIO: ") && !status.isDone(); i++) Thread.sleep(100);
        assertTrue(text(out).contains("VIRTIO: "), "the guest never started:\n" + text(out) + err);
        List<ProcessHandle> helpers = ProcessHandle.current().children().filter(p -> !before.contains(p)).toList();
        assertEquals(1, helpers.size(), "one helper for the one disk: " + helpers);
        helpers.getFirst().destroyForcibly();

        assertEquals(0, status.get(240, TimeUnit.SECONDS), "a clean stop:\n" + text(out) + err); // hang guard
        String console = text(out), messages = err.toString(StandardCharsets.UTF_8);
        assertFalse(console.contains("VIRTIO: PASS") || console.contains("VIRTIO: FAIL\n"), "the guest did not run to its end:\n" + console);
        assertTrue(messages.contains("virtio-blk(disk.img): vhost-user back-end lost"), messages);
        assertTrue(messages.contains("killed by signal 9"), messages);
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }
}
