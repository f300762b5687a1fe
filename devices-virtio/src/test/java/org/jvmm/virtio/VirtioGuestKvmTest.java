package org.jvmm.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.IntStream;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;
import org.jvmm.virtio.console.VirtioConsole;
import org.jvmm.virtio.mmio.VirtioMmioTransport;
import org.jvmm.x86.X86Layout;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-blk and virtio-console on the real KVM, driven by the freestanding C virtio test guest
 * ({@code guests/virtio/virtio_test.c} at the repository root, the same program arch-arm64's HvfVirtioTest
 * runs on hvfsim) built here as a bzImage with the boot-protocol probe's header. Through jvmm's x86 platform,
 * with QueueNotify delivered by ioeventfd, the guest writes, flushes and reads back sectors, reads and writes
 * past the end, offers six broken rings, five to virtio-blk and one to the console (each must end in
 * DEVICE_NEEDS_RESET with a configuration interrupt while the machine runs on, then recover), and talks on
 * the console.
 *
 * <p>The host checks, each against its own expectation: the guest's UART transcript line by line (the checks
 * in {@code guests/virtio/checks.txt}), the reason the transport logs for each DEVICE_NEEDS_RESET (the
 * intended one for each broken ring), the exact bytes the guest wrote to the console (its greeting and the
 * host's line echoed), the image file (the guest's pattern in sectors 1-7, everything else untouched, in
 * particular the last sector that a write past the end must not reach), and both devices reset at the end.
 */
@Timeout(300)
class VirtioGuestKvmTest {

    static final int SECTORS = 64;
    static final byte UNTOUCHED = 0x5c;
    static final String HOST_LINE = "ping from the host\n";
    /** Why the device must give up on each broken ring, in the guest's order (parts of the transport's log line). */
    static final List<String> BROKEN_RING_REASONS = List.of(
            "chain at head 0 has more than 8 descriptors",
            "descriptor 1 of chain 0 [0x10000000000, +0x200) is not inside guest RAM",
            "descriptor 7 of chain 0 continues to 8, outside its 8-entry table",
            "available index 9 is 9 entries ahead",
            "available ring entry 0 names descriptor 8 of a 8-entry table",
            "descriptor 0 of chain 0 [0x10000000000, +0x40) is not inside guest RAM");
    static final long MiB = 1 << 20;
    static final boolean REQUIRE_ALL = Boolean.getBoolean("jvmm.requireAll");

    @TempDir Path dir;

    static void require(boolean ok, String what) {
        if (REQUIRE_ALL) assertTrue(ok, what + " (required by jvmm.requireAll)");
        Assumptions.assumeTrue(ok, what);
    }

    static boolean onPath(String tool) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    static Path repoRoot() {
        return Path.of(System.getProperty("jvmm.repoRoot", "..")).toAbsolutePath();
    }

    void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command[0] + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + log);
    }

    /**
     * Compiles the guest for x86-64 without SSE (KVM's instruction emulator here refuses it) and links it
     * behind the boot-protocol probe's bzImage header.
     */
    Path buildGuest() throws IOException, InterruptedException {
        for (String tool : List.of("nasm", "gcc", "ld", "objcopy")) require(onPath(tool), tool + " is not installed");
        Path probe = repoRoot().resolve("arch-x86/src/test/probe");
        Path source = repoRoot().resolve("guests/virtio/virtio_test.c");
        run("nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        run("gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-sse", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-Wall", "-Wextra", "-Werror", "-o", "virtio_test.o", source.toString());
        run("ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "virtio_test.elf", "header.o", "virtio_test.o");
        run("objcopy", "-O", "binary", "virtio_test.elf", "virtio_test.bzImage");
        return dir.resolve("virtio_test.bzImage");
    }

    /** What the guest prints on its UART when every check passes: the hand-written list in checks.txt. */
    static String expectedTranscript(String arch) throws IOException {
        StringBuilder s = new StringBuilder("VIRTIO: start " + arch + "\n");
        for (String check : Files.readAllLines(repoRoot().resolve("guests/virtio/checks.txt"))) {
            if (!check.isBlank() && !check.startsWith("#")) s.append("VIRTIO: ok ").append(check).append('\n');
        }
        return s.append("VIRTIO: PASS\n").toString();
    }

    @Test
    void theCVirtioGuestDrivesTheDiskAndTheConsoleAndSurvivesBrokenRings() throws Exception {
        require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm is missing");
        Path kernel = buildGuest();
        byte[] initial = new byte[SECTORS * VirtioBlock.SECTOR_SIZE];
        Arrays.fill(initial, UNTOUCHED);
        Path image = Files.write(dir.resolve("disk.img"), initial);

        List<Integer> gsis = IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList();
        ByteArrayOutputStream virtioConsole = new ByteArrayOutputStream();
        InputStream typed = new ByteArrayInputStream(HOST_LINE.getBytes(StandardCharsets.UTF_8));
        VirtioMmioDevices virtio = new VirtioMmioDevices(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE,
                gsis, EventFd::new)
                .add(new VirtioBlock(DiskImage.open(image, false)))
                .add(new VirtioConsole(typed, virtioConsole, 80, 25));
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
        transportLog.setLevel(Level.ALL); // past the first few errors the transport logs at FINE
        transportLog.addHandler(needsReset);
        ByteArrayOutputStream uart = new ByteArrayOutputStream();
        MachineExit exit;
        List<Integer> statusAtEnd;
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).memory(64 * MiB).cpus(1)
                .console(InputStream.nullInputStream(), uart).extension(virtio).build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            try {
                exit = guard.submit(m::run).get(240, TimeUnit.SECONDS); // hang guard
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the guest did not finish; UART so far:\n" + text(uart));
            } finally {
                guard.shutdownNow();
            }
            statusAtEnd = virtio.transports().stream().map(VirtioMmioTransport::status).toList();
        } finally {
            transportLog.removeHandler(needsReset);
            transportLog.setLevel(levelBefore);
        }
        String out = text(uart);
        assertEquals(expectedTranscript("x86_64"), out);
        assertEquals(0, exit.exitCode(), exit + "\n" + out);
        assertEquals(List.of(0, 0), statusAtEnd, "the guest resets both devices last");
        assertEquals(BROKEN_RING_REASONS.size(), reasons.size(), "one device error per broken ring: " + reasons);
        for (int i = 0; i < reasons.size(); i++) {
            assertTrue(reasons.get(i).contains(BROKEN_RING_REASONS.get(i)), "broken ring " + i + ": " + reasons.get(i));
        }
        assertEquals("hello from x86_64\necho: " + HOST_LINE, text(virtioConsole));
        assertImageHoldsTheGuestsWrites(image, initial.length);
    }

    /** Sectors 1-7 hold the guest's pattern, every other byte (the last sector included) is untouched. */
    static void assertImageHoldsTheGuestsWrites(Path image, int size) throws IOException {
        byte[] file = Files.readAllBytes(image);
        assertEquals(size, file.length, "the image changed size");
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < file.length; i++) {
            int sector = i / VirtioBlock.SECTOR_SIZE, offset = i % VirtioBlock.SECTOR_SIZE;
            byte expected = sector >= 1 && sector <= 7 ? (byte) (sector * 31 + offset * 7 + 3) : UNTOUCHED;
            if (file[i] != expected) wrong.add(i);
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " bytes differ from what the guest should have written, first at "
                + wrong.subList(0, Math.min(8, wrong.size())));
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }
}
