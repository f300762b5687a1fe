package org.jvmm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import org.jvmm.core.platform.Platform;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.virtio.blk.DiskImage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code --disk}, {@code --net}, {@code --console}, {@code --fs} and {@code --vhost-user-blk}, run in-process on the fake platform as JvmmTest does. */
@Timeout(30)
class VirtioOptionsTest {

    record Result(int status, String out, String err) {
        List<String> errLines() { return err.lines().toList(); }
    }

    @TempDir Path dir;
    Path kernel, disk;
    final Function<String, Platform> fake = FakePlatform::new;

    @BeforeEach
    void files() throws IOException {
        kernel = Files.write(dir.resolve("bzImage"), new byte[] {1, 2, 3});
        disk = Files.write(dir.resolve("disk.img"), new byte[4096]);
    }

    private Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Jvmm.execute(args, InputStream.nullInputStream(), out, new PrintStream(err, true, StandardCharsets.UTF_8), false, fake);
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Result devices(String... options) {
        String[] args = new String[options.length + 4];
        args[0] = "--kernel";
        args[1] = kernel.toString();
        args[2] = "--cmdline";
        args[3] = "devices";
        System.arraycopy(options, 0, args, 4, options.length);
        return run(args);
    }

    private static void assertOneSentence(Result r, String start) {
        assertEquals(2, r.status(), r.toString());
        assertEquals(1, r.errLines().size(), r.toString());
        assertTrue(r.err().startsWith("jvmm: " + start), r.toString());
        assertTrue(r.err().strip().endsWith("."), r.toString());
    }

    @Test
    void disksNetAndConsoleTakeThePlatformsSlotsInOrder() throws IOException {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_DGRAM, 0);
        Path sock = dir.resolve("gv.sock");
        int gv = LinuxLibc.socket(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_DGRAM | LinuxLibc.SOCK_CLOEXEC, 0);
        try {
            LinuxLibc.bindUnix(gv, sock.toString());
            Result r = devices("--disk", disk + ",ro", "--net", "unixgram:" + sock + ",mac=52:54:00:00:00:01", "--console", "stdio");
            assertEquals(0, r.status(), r.toString());
            assertEquals("""
                    virtio-mmio 0x10000000 irq 5 id 2
                    virtio-mmio 0x10001000 irq 6 id 1
                    virtio-mmio 0x10002000 irq 7 id 3
                    """, r.out());
        } finally {
            LinuxLibc.close(gv);
            LinuxLibc.close(pair[0]);
            LinuxLibc.close(pair[1]);
        }
    }

    @Test
    void virtioCmdlineNamesEachDeviceForTheKernel() {
        Result r = devices("--disk", disk + ",ro", "--console", "stdio", "--virtio-cmdline");
        assertEquals(0, r.status(), r.toString());
        assertEquals("""
                cmdline virtio_mmio.device=0x1000@0x10000000:5 virtio_mmio.device=0x1000@0x10001000:6
                virtio-mmio 0x10000000 irq 5 id 2
                virtio-mmio 0x10001000 irq 6 id 3
                """, r.out());
    }

    @Test
    void withoutOptionsThereAreNoVirtioDevices() {
        Result r = devices();
        assertEquals(0, r.status(), r.toString());
        assertEquals("", r.out());
    }

    @Test
    void aPtyConsolePrintsItsPath() {
        Result r = devices("--console", "pty");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.err().matches("(?s)jvmm: virtio-console \\(hvc0\\) on /dev/pts/\\d+\\R"), r.err());
        assertEquals("virtio-mmio 0x10000000 irq 5 id 3\n", r.out());
    }

    @Test
    void badSandboxOptionsAreOneSentence() {
        assertOneSentence(devices("--sandbox", "jail"), "Bad --sandbox 'jail': give process or none.");
        assertOneSentence(devices("--on-helper-failure", "panic"), "Bad --on-helper-failure 'panic': give continue or stop.");
    }

    @Test
    void aMissingDiskIsOneSentence() {
        assertOneSentence(devices("--disk", dir.resolve("nope.img").toString()), "Disk image ");
    }

    @Test
    void aDiskLockedByAnotherWriterIsOneSentence() {
        try (DiskImage held = DiskImage.open(disk, false)) {
            assertOneSentence(devices("--disk", disk.toString()), "Disk image " + disk + " is locked");
        }
        // and the failed run released nothing it did not own: the disk opens again
        assertEquals(0, devices("--disk", disk.toString()).status());
    }

    @Test
    void aBadMacIsOneSentence() {
        assertOneSentence(devices("--net", "passt:/nowhere,mac=01:00:5e:00:00:01"), "Bad MAC address");
    }

    @Test
    void anFsShareIsAVirtioFsDeviceServedByVirtiofsdAfterTheOtherDevices() throws IOException {
        boolean present = Files.isExecutable(Path.of("/usr/libexec/virtiofsd")) || Files.isExecutable(Path.of("/usr/lib/qemu/virtiofsd"));
        if (Boolean.getBoolean("jvmm.requireAll")) assertTrue(present, "virtiofsd (apt-get install qemu-system-common or virtiofsd)");
        org.junit.jupiter.api.Assumptions.assumeTrue(present, "virtiofsd is not installed");
        Path share = Files.createDirectory(dir.resolve("share"));
        // The device is opened when the machine attaches it: a real handshake with virtiofsd, tag and all.
        Result r = devices("--sandbox", "none", "--disk", disk + ",ro", "--fs", "share:" + share, "--virtio-cmdline");
        assertEquals(0, r.status(), r.toString());
        assertEquals("""
                cmdline virtio_mmio.device=0x1000@0x10000000:5 virtio_mmio.device=0x1000@0x10001000:6
                virtio-mmio 0x10000000 irq 5 id 2
                virtio-mmio 0x10001000 irq 6 id 26
                """, r.out());
    }

    @Test
    void badFsAndVhostUserOptionsAreOneSentence() throws IOException {
        assertOneSentence(devices("--fs", "share"), "Bad --fs 'share': give TAG:DIR");
        assertOneSentence(devices("--fs", "share:"), "Bad --fs 'share:': give TAG:DIR");
        assertOneSentence(devices("--fs", ":" + dir), "Bad virtio-fs tag '': give 1 to 36 bytes without NUL");
        assertOneSentence(devices("--fs", "t".repeat(37) + ":" + dir), "Bad virtio-fs tag '" + "t".repeat(37) + "'");
        assertOneSentence(devices("--sandbox", "none", "--fs", "share:" + disk), "The directory to share, " + disk + ", is not a directory");
        assertOneSentence(devices("--vhost-user-blk", dir.resolve("nope.sock").toString()), "No vhost-user socket at " + dir.resolve("nope.sock"));
        assertOneSentence(devices("--sandbox", "none", "--fs", "t:" + dir, "--fs", "t:" + dir), "Two shares are tagged 't': give each --fs its own tag.");
    }

    @Test
    void aVhostUserBlkSocketIsAVirtioBlkDeviceServedByItsBackend() throws Exception {
        boolean present = Files.isExecutable(Path.of("/usr/bin/qemu-storage-daemon"));
        if (Boolean.getBoolean("jvmm.requireAll")) assertTrue(present, "qemu-storage-daemon (apt-get install qemu-system-common)");
        org.junit.jupiter.api.Assumptions.assumeTrue(present, "qemu-storage-daemon is not installed");
        Path socket = dir.resolve("blk.sock");
        Process qsd = new ProcessBuilder("/usr/bin/qemu-storage-daemon", "--blockdev", "driver=file,node-name=disk,filename=" + disk,
                "--export", "type=vhost-user-blk,id=export,node-name=disk,addr.type=unix,addr.path=" + socket + ",writable=on")
                .redirectErrorStream(true).redirectOutput(dir.resolve("qsd.log").toFile()).start();
        try {
            for (int i = 0; i < 300 && !Files.exists(socket) && qsd.isAlive(); i++) Thread.sleep(100);
            assertTrue(Files.exists(socket), "qemu-storage-daemon did not listen:\n" + Files.readString(dir.resolve("qsd.log")));
            // Opened when the machine attaches it: a real handshake with qemu-storage-daemon, after the console.
            Result r = devices("--sandbox", "none", "--vhost-user-blk", socket.toString(), "--console", "stdio");
            assertEquals(0, r.status(), r.toString());
            assertEquals("""
                    virtio-mmio 0x10000000 irq 5 id 3
                    virtio-mmio 0x10001000 irq 6 id 2
                    """, r.out());
        } finally {
            qsd.destroy();
            if (!qsd.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) qsd.destroyForcibly();
        }
    }

    @Test
    void aBadNetSpecIsOneSentence() {
        assertOneSentence(devices("--net", "vde:/x"), "Bad --net 'vde:/x'");
    }

    @Test
    void aPasstSocketNobodyListensOnIsOneSentence() {
        assertOneSentence(devices("--net", "passt:" + dir.resolve("none.sock")), "Cannot connect to the passt socket");
    }

    @Test
    void anUnknownConsoleIsOneSentence() {
        assertOneSentence(devices("--console", "serial"), "Bad --console 'serial'");
    }

    @Test
    void tooManyDevicesIsOneSentence() {
        assertOneSentence(devices("--disk", disk + ",ro", "--disk", disk + ",ro", "--disk", disk + ",ro", "--disk", disk + ",ro"),
                "Too many virtio devices");
    }

    @Test
    void aLaterFailureReleasesTheDisksAlreadyOpened() {
        assertEquals(2, devices("--disk", disk.toString(), "--net", "vde:/x").status());
        assertEquals(2, devices("--disk", disk.toString(), "--net", "passt:" + dir.resolve("none.sock")).status());
        try (DiskImage again = DiskImage.open(disk, false)) {
            assertNotNull(again);
        }
    }
}
