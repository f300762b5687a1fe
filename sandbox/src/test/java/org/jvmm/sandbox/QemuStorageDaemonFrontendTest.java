package org.jvmm.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.frontend.BackendPeer;
import org.jvmm.sandbox.frontend.DeviceShape;
import org.jvmm.sandbox.frontend.FrontendTestAccess;
import org.jvmm.sandbox.frontend.VhostUserDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop of jvmm's vhost-user front-end with a back-end it did not write: qemu-storage-daemon's
 * vhost-user-blk export (QEMU's libvhost-user). jvmm connects, negotiates, reads the capacity from
 * GET_CONFIG, hands over memfd guest memory and a kick eventfd, and a driver on a ring writes, flushes and
 * reads a sector; after a device reset (GET_VRING_BASE) and a new activation the sector reads back again,
 * and the image file holds it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class QemuStorageDaemonFrontendTest {

    @TempDir Path dir;

    static boolean onPath(String tool) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    @Test
    void jvmmDrivesQemuStorageDaemonsVhostUserBlkExport() throws Exception {
        boolean present = onPath("qemu-storage-daemon");
        if (Boolean.getBoolean("jvmm.requireAll")) assertTrue(present, "qemu-storage-daemon (apt-get install qemu-system-common)");
        assumeTrue(present, "qemu-storage-daemon is not installed");
        byte[] initial = new byte[1 << 20];
        Arrays.fill(initial, (byte) 0x5c);
        Path image = Files.write(dir.resolve("disk.img"), initial);
        Path socket = dir.resolve("vhost.sock");
        Process qsd = new ProcessBuilder("qemu-storage-daemon",
                "--blockdev", "driver=file,node-name=disk,filename=" + image,
                "--export", "type=vhost-user-blk,id=export,node-name=disk,addr.type=unix,addr.path=" + socket + ",writable=on")
                .redirectErrorStream(true).redirectOutput(dir.resolve("qsd.log").toFile()).start();
        try {
            for (int i = 0; i < 300 && !Files.exists(socket) && qsd.isAlive(); i++) Thread.sleep(100);
            assertTrue(Files.exists(socket), "qemu-storage-daemon did not listen:\n" + Files.readString(dir.resolve("qsd.log")));
            int fd = LinuxLibc.socket(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
            LinuxLibc.connectUnix(fd, socket.toString());
            List<String> lost = Collections.synchronizedList(new ArrayList<>());
            try (GuestMemory memory = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 1 << 20)));
                 EventFd kick = new EventFd();
                 VhostUserDevice device = VhostUserDevice.connect(DeviceShape.block("virtio-blk(qsd)"), fd, BackendPeer.NONE, lost::add, 15_000)) {
                assertEquals(2048, device.readConfig(0, 8), "capacity in sectors from qemu-storage-daemon's GET_CONFIG");
                FrontendTestAccess.Driver driver = FrontendTestAccess.blockDriver(memory, kick);
                device.activate(driver.context());
                byte[] data = new byte[512];
                for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 13 + 1);
                assertEquals(0, driver.write(9, data), "write status");
                assertEquals(0, driver.flush(), "flush status");
                assertArrayEquals(data, driver.read(9, 512), "read back");
                device.reset();

                FrontendTestAccess.Driver again = FrontendTestAccess.blockDriver(memory, kick);
                device.activate(again.context());
                assertArrayEquals(data, again.read(9, 512), "read back after a device reset and a new activation");
                device.reset();
                assertTrue(driver.failures().isEmpty() && again.failures().isEmpty(), driver.failures() + " " + again.failures());
                assertNull(device.lostReason(), "the back-end was never lost: " + lost);
            }
            byte[] file = Files.readAllBytes(image);
            assertArrayEquals(data(), Arrays.copyOfRange(file, 9 * 512, 10 * 512), "the sector in the image");
            assertArrayEquals(Arrays.copyOfRange(initial, 0, 9 * 512), Arrays.copyOfRange(file, 0, 9 * 512), "nothing else written");
        } finally {
            qsd.destroy();
            if (!qsd.waitFor(10, TimeUnit.SECONDS)) qsd.destroyForcibly();
        }
    }

    private static byte[] data() {
        byte[] data = new byte[512];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 13 + 1);
        return data;
    }
}
