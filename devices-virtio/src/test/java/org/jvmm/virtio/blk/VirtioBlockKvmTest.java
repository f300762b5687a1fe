package org.jvmm.virtio.blk;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.x86.X86Layout;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-blk on the real KVM: a bare-metal guest ({@code src/test/guests/blk-pvh.asm}, a minimal
 * virtio-mmio driver entered through the PVH boot ABI) writes, flushes and reads back a sector, reads
 * past the end, then offers four broken rings (a descriptor loop, a buffer outside RAM, a next index
 * outside the table, an available index too far ahead), expecting DEVICE_NEEDS_RESET and a
 * configuration-change interrupt each time and a working device after its reset. It runs through jvmm's
 * x86 platform with QueueNotify delivered by ioeventfd; the host then checks the image file itself.
 */
class VirtioBlockKvmTest {

    static final int SECTORS = 64;
    static final long MiB = 1 << 20;
    static final boolean REQUIRE_ALL = Boolean.getBoolean("jvmm.requireAll");

    @TempDir Path dir;

    static void require(boolean ok, String what) {
        if (REQUIRE_ALL) assertTrue(ok, what + " (required by jvmm.requireAll)");
        Assumptions.assumeTrue(ok, what);
    }

    static boolean onPath(String tool) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    /** Assembles and links the guest into {@code out}. */
    static Path buildGuest(Path out) throws IOException, InterruptedException {
        require(onPath("nasm"), "nasm is not installed");
        require(onPath("ld"), "ld (binutils) is not installed");
        Path src = Path.of(System.getProperty("jvmm.repoRoot", "..")).resolve("devices-virtio/src/test/guests");
        if (!Files.exists(src)) src = Path.of("src/test/guests");
        run(out, "nasm", "-f", "elf64", "-o", "blk-pvh.o", src.resolve("blk-pvh.asm").toAbsolutePath().toString());
        run(out, "ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T",
                src.resolve("blk-pvh.ld").toAbsolutePath().toString(), "-o", "blk-pvh.elf", "blk-pvh.o");
        return out.resolve("blk-pvh.elf");
    }

    static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command[0] + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + log);
    }

    @Test
    void aBareMetalDriverWritesReadsAndBreaksTheRingsOnKvm() throws Exception {
        require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm is missing");
        Path kernel = buildGuest(dir);
        byte[] initial = new byte[SECTORS * VirtioBlock.SECTOR_SIZE];
        Arrays.fill(initial, (byte) 0x5c);
        Path image = Files.write(dir.resolve("disk.img"), initial);

        List<Integer> gsis = IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList();
        VirtioMmioDevices virtio = new VirtioMmioDevices(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE,
                gsis, EventFd::new).add(new VirtioBlock(DiskImage.open(image, false)));
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        MachineExit exit;
        int statusAtEnd;
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).memory(64 * MiB).cpus(1)
                .console(InputStream.nullInputStream(), console).extension(virtio).build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            try {
                exit = guard.submit(m::run).get(120, TimeUnit.SECONDS); // hang guard
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the guest did not finish; console so far:\n" + text(console));
            } finally {
                guard.shutdownNow();
            }
            statusAtEnd = virtio.transports().getFirst().status();
        }
        String out = text(console);
        assertTrue(out.contains("VIRTIO: PASS\n"), out);
        assertFalse(out.contains("VIRTIO: FAIL"), out);
        assertEquals(27, out.lines().filter(l -> l.startsWith("VIRTIO: ok")).count(), out);
        assertEquals(0, exit.exitCode(), exit + "\n" + out);
        assertEquals(0, statusAtEnd, "the guest reset the device last");

        byte[] file = Files.readAllBytes(image);
        assertEquals(initial.length, file.length, "the image changed size");
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < file.length; i++) {
            int sector = i / VirtioBlock.SECTOR_SIZE, offset = i % VirtioBlock.SECTOR_SIZE;
            byte expected = sector == 1 ? (byte) (offset * 7 + 3) : (byte) 0x5c;
            if (file[i] != expected) wrong.add(i);
        }
        assertTrue(wrong.isEmpty(), "bytes differ from what the guest wrote at " + wrong.subList(0, Math.min(8, wrong.size())));
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }
}
