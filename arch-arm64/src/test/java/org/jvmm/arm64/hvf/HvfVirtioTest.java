package org.jvmm.arm64.hvf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
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
import org.jvmm.arm64.Arm64Layout;
import org.jvmm.arm64.Arm64Platform;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;
import org.jvmm.virtio.console.VirtioConsole;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * jvmm's virtio-blk and virtio-console driven by an arm64 guest (src/test/guests/virtio.c, a freestanding
 * virtio-mmio driver) through the HVF backend on hvfsim, the simulated Hypervisor.framework: no ioeventfd, so
 * every QueueNotify is an MMIO exit the transport turns into a kick. The host checks the image file and the
 * console's output itself.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HvfVirtioTest {

    static final int SECTORS = 64;

    @TempDir Path dir;

    @BeforeAll
    static void simulator() throws Exception {
        HvfSim.install();
    }

    @AfterAll
    static void restore() {
        HvfSim.uninstall();
    }

    @Test
    void anArm64DriverWritesFlushesReadsTheDiskAndTalksOnTheConsole() throws Exception {
        Path kernel = HvfSim.cGuest("virtio");
        byte[] initial = new byte[SECTORS * VirtioBlock.SECTOR_SIZE];
        Arrays.fill(initial, (byte) 0x5c);
        Path image = Files.write(dir.resolve("disk.img"), initial);

        List<Integer> spis = IntStream.range(0, Arm64Layout.VIRTIO_MMIO_COUNT).map(Arm64Layout::virtioMmioSpi).boxed().toList();
        ByteArrayOutputStream virtioConsole = new ByteArrayOutputStream();
        InputStream typed = new ByteArrayInputStream("ping\n".getBytes(StandardCharsets.UTF_8));
        VirtioMmioDevices virtio = new VirtioMmioDevices(Arm64Layout.VIRTIO_MMIO_BASE, Arm64Layout.VIRTIO_MMIO_SIZE, spis)
                .add(new VirtioBlock(DiskImage.open(image, false)))
                .add(new VirtioConsole(typed, virtioConsole, 80, 25));
        ByteArrayOutputStream uart = new ByteArrayOutputStream();
        MachineExit exit;
        try (Machine m = Machine.builder(new Arm64Platform()).kernel(kernel).memory(64L << 20).cpus(1)
                .console(InputStream.nullInputStream(), uart).extension(virtio).build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            try {
                exit = guard.submit(m::run).get(90, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the guest did not finish; PL011 so far:\n" + text(uart));
            } finally {
                guard.shutdownNow();
            }
        }
        String out = text(uart);
        assertEquals(0, exit.exitCode(), exit + "\n" + out);
        assertTrue(out.contains("VIRTIO: PASS\n"), out);
        assertFalse(out.contains("VIRTIO: FAIL"), out);
        assertEquals(15, out.lines().filter(l -> l.startsWith("VIRTIO: ok")).count(), out);
        assertEquals("hello from arm64\necho: ping\n", text(virtioConsole));

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
