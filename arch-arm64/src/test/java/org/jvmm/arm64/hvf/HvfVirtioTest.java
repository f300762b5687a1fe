package org.jvmm.arm64.hvf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.jvmm.arm64.Arm64Layout;
import org.jvmm.arm64.Arm64Platform;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.observe.ExitObserver;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;
import org.jvmm.virtio.console.VirtioConsole;
import org.jvmm.virtio.mmio.VirtioMmioTransport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * jvmm's virtio-blk and virtio-console driven by the freestanding C virtio test guest
 * ({@code guests/virtio/virtio_test.c} at the repository root, the same program devices-virtio's
 * VirtioGuestKvmTest runs on the direct KVM), compiled for arm64 and run through the HVF backend on hvfsim, the
 * simulated Hypervisor.framework: no ioeventfd, so every QueueNotify is an MMIO exit the transport turns into
 * a kick. The guest writes, flushes and reads back sectors, reads and writes past the end, offers six broken
 * rings, five to virtio-blk and one to the console (each must end in DEVICE_NEEDS_RESET with a configuration
 * interrupt while the machine runs on, then recover), and talks on the console.
 *
 * <p>The host checks, each against its own expectation: the PL011 transcript line by line (the checks in
 * {@code guests/virtio/checks.txt}), the reason the transport logs for each DEVICE_NEEDS_RESET (the intended
 * one for each broken ring), the exact bytes on the virtio console (the guest's greeting and the host's line
 * echoed), the image file (the guest's pattern in sectors 1-7, everything else untouched, in particular
 * the last sector that a write past the end must not reach), and both devices reset at the end.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HvfVirtioTest {

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

    @TempDir Path dir;

    @BeforeAll
    static void simulator() throws Exception {
        HvfSim.install();
    }

    @AfterAll
    static void restore() {
        HvfSim.uninstall();
    }

    /** The repository root (surefire passes jvmm.repoRoot; the module directory's parent otherwise). */
    static Path repoRoot() {
        return HvfSim.moduleDir().toAbsolutePath().getParent();
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
        Path kernel = HvfSim.cGuest(repoRoot().resolve("guests/virtio/virtio_test.c"));
        byte[] initial = initialImage();
        Path image = Files.write(dir.resolve("disk.img"), initial);

        List<Integer> spis = IntStream.range(0, Arm64Layout.VIRTIO_MMIO_COUNT).map(Arm64Layout::virtioMmioSpi).boxed().toList();
        ByteArrayOutputStream virtioConsole = new ByteArrayOutputStream();
        InputStream typed = new ByteArrayInputStream(HOST_LINE.getBytes(StandardCharsets.UTF_8));
        VirtioMmioDevices virtio = new VirtioMmioDevices(Arm64Layout.VIRTIO_MMIO_BASE, Arm64Layout.VIRTIO_MMIO_SIZE, spis)
                .add(new VirtioBlock(DiskImage.open(image, false)))
                .add(new VirtioConsole(typed, virtioConsole, 80, 25));
        Outcome o = runGuest(kernel, virtio, (cpu, e, device, value, nanos) -> {}, 90);
        assertEquals(expectedTranscript("aarch64"), o.uart());
        assertEquals(0, o.exit().exitCode(), o.exit() + "\n" + o.uart());
        assertEquals(List.of(0, 0), o.statusAtEnd(), "the guest resets both devices last");
        assertEquals(BROKEN_RING_REASONS.size(), o.reasons().size(), "one device error per broken ring: " + o.reasons());
        for (int i = 0; i < o.reasons().size(); i++) {
            assertTrue(o.reasons().get(i).contains(BROKEN_RING_REASONS.get(i)), "broken ring " + i + ": " + o.reasons().get(i));
        }
        assertEquals("hello from aarch64\necho: " + HOST_LINE, text(virtioConsole));
        assertImageHoldsTheGuestsWrites(image, initial);
    }

    /** What a run of the guest left: how the machine ended, the PL011 transcript, the reason of each DEVICE_NEEDS_RESET, each transport's status at the end, and guest RAM. */
    record Outcome(MachineExit exit, String uart, List<String> reasons, List<Integer> statusAtEnd, List<MemoryRegion> ram) {}

    /** The image the guest starts with: every byte {@link #UNTOUCHED}. */
    static byte[] initialImage() {
        byte[] initial = new byte[SECTORS * VirtioBlock.SECTOR_SIZE];
        Arrays.fill(initial, UNTOUCHED);
        return initial;
    }

    /**
     * Runs {@code kernel} on one vCPU with {@code virtio} (hang guard: {@code timeoutSeconds}), collecting the
     * reasons the transports log for DEVICE_NEEDS_RESET.
     */
    static Outcome runGuest(Path kernel, VirtioMmioDevices virtio, ExitObserver observer, int timeoutSeconds) throws Exception {
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
        try (Machine m = Machine.builder(new Arm64Platform()).kernel(kernel).memory(64L << 20).cpus(1)
                .console(InputStream.nullInputStream(), uart).extension(virtio).observer(observer).build()) {
            MachineExit exit;
            ExecutorService guard = Executors.newSingleThreadExecutor();
            try {
                exit = guard.submit(m::run).get(timeoutSeconds, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the guest did not finish; PL011 so far:\n" + text(uart) + "\nNEEDS_RESET: " + reasons);
            } finally {
                guard.shutdownNow();
            }
            List<Integer> status = virtio.transports().stream().map(VirtioMmioTransport::status).toList();
            return new Outcome(exit, text(uart), List.copyOf(reasons), status, m.memory().regions());
        } finally {
            transportLog.removeHandler(needsReset);
            transportLog.setLevel(levelBefore);
        }
    }

    /** The guest's pattern in sectors 1-7 and {@link #UNTOUCHED} everywhere else, in particular the last sector that a write past the end must not reach. */
    static void assertImageHoldsTheGuestsWrites(Path image, byte[] initial) throws IOException {
        byte[] file = Files.readAllBytes(image);
        assertEquals(initial.length, file.length, "the image changed size");
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < file.length; i++) {
            int sector = i / VirtioBlock.SECTOR_SIZE, offset = i % VirtioBlock.SECTOR_SIZE;
            byte expected = sector >= 1 && sector <= 7 ? (byte) (sector * 31 + offset * 7 + 3) : UNTOUCHED;
            if (file[i] != expected) wrong.add(i);
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " bytes differ from what the guest should have written, first at "
                + wrong.subList(0, Math.min(8, wrong.size())));
    }

    static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }
}
