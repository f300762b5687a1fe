package org.jvmm.arm64.hvf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.jvmm.arm64.Arm64Layout;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.sandbox.Sandbox;
import org.jvmm.sandbox.SandboxedDevices;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.virtio.mmio.VirtioMmioRegisters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --sandbox=process} on a hypervisor without ioeventfd, the way macOS runs it: the C virtio test guest
 * (the program {@link HvfVirtioTest} runs with in-process devices) on the HVF backend over hvfsim, the
 * simulated Hypervisor.framework, with virtio-blk and virtio-console each served by a helper JVM behind jvmm's
 * vhost-user front-end. What is macOS's path here: guest RAM is shared memory 16 KiB-aligned for
 * {@code hv_vm_map} and handed to the helpers as descriptors; every QueueNotify is an MMIO exit on which the
 * transport writes the queue's pipe, whose read end the helper waits on. What is Linux's: the shared memory
 * is a memfd, the calls are eventfds (pipes on macOS, covered by the front-end's own tests), and the helpers
 * are not jailed (the Seatbelt profile cannot run here).
 *
 * <p>The guest passes every check it passes in-process; the host checks that kicks did arrive as QueueNotify
 * exits (so they could only reach the helpers through the pipes), that guest RAM was 16 KiB-aligned shared
 * memory, the image, the console bytes both ways, and one NEEDS_RESET per broken ring, reported by the helper
 * that saw it.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HvfSandboxedVirtioTest {

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
    void theCVirtioGuestPassesWithHelperProcessesKickedThroughPipes() throws Exception {
        Path kernel = HvfSim.cGuest(HvfVirtioTest.repoRoot().resolve("guests/virtio/virtio_test.c"));
        byte[] initial = HvfVirtioTest.initialImage();
        Path image = Files.write(dir.resolve("disk.img"), initial);

        ByteArrayOutputStream consoleOut = new ByteArrayOutputStream();
        InputStream typed = new ByteArrayInputStream(HvfVirtioTest.HOST_LINE.getBytes(StandardCharsets.UTF_8));
        List<String> lost = Collections.synchronizedList(new ArrayList<>());
        List<VirtioDevice> devices = new SandboxedDevices(Sandbox.PROCESS, lost::add)
                .block(image, false)
                .console(typed, consoleOut, 80, 25)
                .open();
        List<Integer> spis = IntStream.range(0, Arm64Layout.VIRTIO_MMIO_COUNT).map(Arm64Layout::virtioMmioSpi).boxed().toList();
        VirtioMmioDevices virtio = new VirtioMmioDevices(Arm64Layout.VIRTIO_MMIO_BASE, Arm64Layout.VIRTIO_MMIO_SIZE, spis);
        devices.forEach(virtio::add);

        AtomicLong queueNotifyExits = new AtomicLong();
        long slots = (long) Arm64Layout.VIRTIO_MMIO_COUNT * Arm64Layout.VIRTIO_MMIO_SIZE;
        HvfVirtioTest.Outcome o = HvfVirtioTest.runGuest(kernel, virtio, (cpu, e, device, value, nanos) -> {
            if (e instanceof VcpuExit.MmioWrite w) {
                long offset = w.address() - Arm64Layout.VIRTIO_MMIO_BASE;
                if (offset >= 0 && offset < slots && offset % Arm64Layout.VIRTIO_MMIO_SIZE == VirtioMmioRegisters.QUEUE_NOTIFY) {
                    queueNotifyExits.incrementAndGet();
                }
            }
        }, 180);
        assertEquals(HvfVirtioTest.expectedTranscript("aarch64"), o.uart(), "NEEDS_RESET reasons: " + o.reasons());
        assertEquals(0, o.exit().exitCode(), o.exit() + "\n" + o.uart());
        assertEquals(List.of(0, 0), o.statusAtEnd(), "the guest resets both devices last");
        assertTrue(queueNotifyExits.get() > 0, "kicks must arrive as QueueNotify exits on a hypervisor without ioeventfd");
        for (MemoryRegion r : o.ram()) {
            assertTrue(r.fd() >= 0, "guest RAM " + r + " has no descriptor to hand to the helpers");
            assertEquals(0, r.segment().address() % HvfArm64Hypervisor.PAGE_SIZE, "guest RAM " + r + " is not 16 KiB-aligned");
        }
        assertEquals(6, o.reasons().size(), "one NEEDS_RESET per broken ring (five blk, one console), each reported by its helper: " + o.reasons());
        for (String r : o.reasons()) assertTrue(r.contains("queue 0: the vhost-user back-end reported an error"), r);
        assertTrue(lost.isEmpty(), "no helper was lost: " + lost);
        // The console helper's output reaches jvmm through its relay a moment after the guest wrote it.
        String expectedConsole = "hello from aarch64\necho: " + HvfVirtioTest.HOST_LINE;
        for (int i = 0; i < 300 && !HvfVirtioTest.text(consoleOut).equals(expectedConsole); i++) Thread.sleep(100);
        assertEquals(expectedConsole, HvfVirtioTest.text(consoleOut));
        HvfVirtioTest.assertImageHoldsTheGuestsWrites(image, initial);
    }
}
