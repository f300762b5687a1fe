package org.jvmm.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.frontend.DeviceShape;
import org.jvmm.sandbox.frontend.FrontendTestAccess;
import org.jvmm.sandbox.frontend.VhostUserDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults of real helper processes: a blk helper killed with SIGKILL in the middle of serving puts its
 * device in NEEDS_RESET with one line that names the device and the signal, the front-end stays usable
 * (resets return, new activations fail at once), and data the helper acknowledged after a flush is in
 * the image; and when jvmm itself is killed, its helpers go too.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HelperFaultTest {

    @TempDir Path dir;

    @Test
    void aHelperKilledMidRunMakesItsDeviceNeedResetWithOneLineAndFlushedDataIsOnDisk() throws Exception {
        byte[] initial = new byte[64 * 512];
        Arrays.fill(initial, (byte) 0x5c);
        Path image = Files.write(dir.resolve("disk.img"), initial);
        HelperProcess helper = HelperProcess.start("the blk helper for disk.img", "blk", List.of());
        int disk = LinuxLibc.open(image.toString(), LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
        int socket;
        try {
            socket = helper.connect(disk);
        } finally {
            LinuxLibc.close(disk);
        }
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        try (GuestMemory memory = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 1 << 20)));
             EventFd kick = new EventFd();
             VhostUserDevice device = VhostUserDevice.connect(DeviceShape.block("virtio-blk(disk.img)"), socket, helper, lines::add, 15_000)) {
            FrontendTestAccess.Driver driver = FrontendTestAccess.blockDriver(memory, kick);
            device.activate(driver.context());
            byte[] data = new byte[512];
            Arrays.fill(data, (byte) 0xa7);
            assertEquals(0, driver.write(5, data), "the write's status");
            assertEquals(0, driver.flush(), "the flush's status");
            // Acknowledged: now the helper dies without any chance to write anything more.
            helper.process().destroyForcibly();

            assertTrue(driver.awaitFailure(30), "the driver never saw NEEDS_RESET after the helper was killed");
            assertEquals(1, driver.failures().size(), driver.failures().toString());
            String reason = driver.failures().getFirst();
            assertTrue(reason.contains("killed by signal 9"), reason);
            assertTrue(reason.contains("the blk helper for disk.img (pid " + helper.pid() + ")"), reason);
            assertEquals(1, lines.size(), "one report of the loss: " + lines);
            assertTrue(lines.getFirst().startsWith("virtio-blk(disk.img): "), lines.getFirst());

            byte[] file = Files.readAllBytes(image);
            assertArrayEquals(data, Arrays.copyOfRange(file, 5 * 512, 6 * 512), "the flushed sector is in the image");

            // The VM goes on: a reset returns at once and a new activation fails at once.
            device.reset();
            FrontendTestAccess.Driver again = FrontendTestAccess.blockDriver(memory, kick);
            device.activate(again.context());
            assertEquals(1, again.failures().size(), "a new activation of the lost device is NEEDS_RESET at once");
            device.reset();
            assertEquals(1, lines.size(), lines.toString());
        }
    }

    /** Run as its own JVM by the next test: starts a blk helper, prints its pid, and waits to be killed. */
    public static void main(String[] args) throws Exception {
        HelperProcess helper = HelperProcess.start("the blk helper for " + args[0], "blk", List.of());
        int disk = LinuxLibc.open(args[0], LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
        int socket = helper.connect(disk);
        VhostUserDevice device = VhostUserDevice.connect(DeviceShape.block("virtio-blk"), socket, helper, null, 15_000);
        System.out.println("HELPER " + helper.pid() + " " + (device.features() != 0));
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    @Test
    void helpersDieWithJvmm() throws Exception {
        Path image = Files.write(dir.resolve("disk.img"), new byte[4096]);
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process vmm = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                HelperFaultTest.class.getName(), image.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long helperPid;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(vmm.getInputStream(), StandardCharsets.UTF_8))) {
            String line = out.readLine();
            assertTrue(line != null && line.startsWith("HELPER ") && line.endsWith(" true"), "the stand-in jvmm printed " + line);
            helperPid = Long.parseLong(line.split(" ")[1]);
            Optional<ProcessHandle> h = ProcessHandle.of(helperPid);
            assertTrue(h.isPresent() && h.get().isAlive(), "the helper runs while its jvmm does");
            assertEquals(vmm.pid(), h.get().parent().map(ProcessHandle::pid).orElse(-1L), "the helper's parent is the stand-in jvmm");

            vmm.destroyForcibly(); // SIGKILL: no shutdown hook, no close, nothing of jvmm's runs
            assertTrue(vmm.waitFor(30, TimeUnit.SECONDS));
        }
        Optional<ProcessHandle> h = ProcessHandle.of(helperPid);
        if (h.isPresent()) h.get().onExit().get(30, TimeUnit.SECONDS); // hang guard; a surviving helper fails below
        assertTrue(ProcessHandle.of(helperPid).map(p -> !p.isAlive()).orElse(true), "helper " + helperPid + " outlived jvmm");
    }
}
