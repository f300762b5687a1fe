package org.jvmm.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.jvmm.loader.initramfs.CpioWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop proof for the blk helper (issue 4, item 8b): QEMU, a real vhost-user front-end, boots the
 * guest kit's Debian kernel with {@code vhost-user-blk-pci} backed by jvmm's {@link Helper} in its own
 * JVM, and the guest's Linux virtio-blk driver reads and writes the disk the helper serves.
 *
 * <p>The guest runs a small script from an initramfs overlay (the kernel unpacks concatenated
 * archives; {@code rdinit=} selects the script so the kit's own /init stays untouched). It loads
 * virtio_pci (a module in Debian's kernel, not part of the kit, taken from the kit's cached kernel
 * package), then: prints the MD5 of the whole disk (random bytes the test wrote), copies the first MiB
 * to 4 MiB with {@code dd}, writes a token from the kernel command line at sector 2 with fsync, drops
 * the page cache and reads the token back, then unbinds and rebinds the driver (a device reset: QEMU
 * stops the ring and sets it up again) and reads the token once more. Every expectation is computed here from the test's own data.
 */
class QemuVhostUserBlkTest {

    private static final boolean REQUIRE_ALL = Boolean.getBoolean("jvmm.requireAll");
    private static final int MIB = 1 << 20;
    private static final int DISK_BYTES = 8 * MIB;

    private static void require(boolean ok, String what) {
        if (REQUIRE_ALL) assertTrue(ok, what + " (required by jvmm.requireAll)");
        assumeTrue(ok, what);
    }

    private static final String SCRIPT = """
            #!/bin/sh
            export PATH=/bin:/sbin:/usr/bin:/usr/sbin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            M=/lib/modules/$(uname -r)/kernel/drivers
            for m in $M/virtio/virtio_ring.ko $M/virtio/virtio.ko /vhost/virtio_pci_legacy_dev.ko \\
                     /vhost/virtio_pci_modern_dev.ko /vhost/virtio_pci.ko $M/block/virtio_blk.ko; do
              insmod $m || echo "VHOST-TEST insmod $m failed"
            done
            i=0; while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
            tok=$(sed -n 's/.* vhosttest.token=\\([0-9a-f]*\\).*/\\1/p' /proc/cmdline)
            echo "VHOST-TEST sectors=$(cat /sys/block/vda/size)"
            echo "VHOST-TEST md5=$(md5sum /dev/vda | cut -d' ' -f1)"
            dd if=/dev/vda of=/dev/vda bs=65536 count=16 seek=64 conv=notrunc,fsync 2>/dev/null
            echo -n "$tok" | dd of=/dev/vda bs=512 seek=2 conv=notrunc,fsync 2>/dev/null
            echo 3 > /proc/sys/vm/drop_caches
            echo "VHOST-TEST back=$(dd if=/dev/vda bs=512 skip=2 count=1 2>/dev/null | head -c ${#tok})"
            # Unbinding resets the device (QEMU stops the ring with GET_VRING_BASE); binding again sets it up anew.
            rmmod virtio_blk && insmod $M/block/virtio_blk.ko
            i=0; while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
            echo "VHOST-TEST again=$(dd if=/dev/vda bs=512 skip=2 count=1 2>/dev/null | head -c ${#tok})"
            echo VHOST-TEST-DONE
            poweroff -f
            """;

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void linuxVirtioBlkDriverReadsAndWritesThroughTheHelper(@TempDir Path dir) throws Exception {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", ".."));
        Path kit = root.resolve(".guest/x86_64");
        require(Files.isRegularFile(kit.resolve("vmlinuz")) && Files.isRegularFile(kit.resolve("initramfs.cpio.gz"))
                && Files.isRegularFile(kit.resolve("kit.properties")), "the x86_64 guest kit (run bin/guest-kit)");
        require(onPath("qemu-system-x86_64"), "qemu-system-x86_64 (apt-get install qemu-system-x86)");
        require(onPath("dpkg-deb") && onPath("tar"), "dpkg-deb and tar");
        Properties props = new Properties();
        try (var in = Files.newInputStream(kit.resolve("kit.properties"))) {
            props.load(in);
        }
        String version = props.getProperty("kernel.version");
        Path deb = root.resolve(".guest/debs/" + props.getProperty("kernel.package") + "_"
                + props.getProperty("kernel.package.version") + "_amd64.deb");
        require(Files.isRegularFile(deb), "the kit's cached kernel package " + deb.getFileName() + " (run bin/guest-kit)");

        // virtio_pci and its two helpers, straight from the kernel package the kit was built from.
        Path unpacked = dir.resolve("kernel");
        Files.createDirectories(unpacked);
        String modDir = "./lib/modules/" + version + "/kernel/drivers/virtio/";
        run(List.of("sh", "-c", "dpkg-deb --fsys-tarfile \"$0\" | tar -x -C \"$1\" \"$2virtio_pci.ko\" \"$2virtio_pci_legacy_dev.ko\" \"$2virtio_pci_modern_dev.ko\"",
                deb.toString(), unpacked.toString(), modDir), dir.resolve("dpkg.log"));
        ByteArrayOutputStream overlay = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(overlay); CpioWriter cpio = new CpioWriter(gz)) {
            cpio.directory("vhost", 0755);
            for (String m : List.of("virtio_pci.ko", "virtio_pci_legacy_dev.ko", "virtio_pci_modern_dev.ko")) {
                cpio.file("vhost/" + m, 0644, Files.readAllBytes(unpacked.resolve(modDir).resolve(m)));
            }
            cpio.file("vhost-test", 0755, SCRIPT.getBytes(StandardCharsets.UTF_8));
            cpio.finish();
        }
        Path initrd = dir.resolve("initrd");
        Files.write(initrd, Files.readAllBytes(kit.resolve("initramfs.cpio.gz")));
        Files.write(initrd, overlay.toByteArray(), java.nio.file.StandardOpenOption.APPEND);

        Random random = new Random();
        byte[] original = new byte[DISK_BYTES];
        random.nextBytes(original);
        Path disk = dir.resolve("disk.img");
        Files.write(disk, original);
        String token = HexFormat.of().formatHex(randomBytes(random, 8));

        Path socket = dir.resolve("vhost.sock");
        Path qemuLog = dir.resolve("qemu.log");
        Process qemu = new ProcessBuilder("qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-m", "512M", "-smp", "1",
                "-nographic", "-no-reboot",
                "-object", "memory-backend-memfd,id=mem,size=512M,share=on", "-numa", "node,memdev=mem",
                "-chardev", "socket,id=c,path=" + socket + ",server=on",
                "-device", "vhost-user-blk-pci,chardev=c",
                "-kernel", kit.resolve("vmlinuz").toString(), "-initrd", initrd.toString(),
                "-append", "console=ttyS0 rdinit=/vhost-test panic=-1 quiet vhosttest.token=" + token)
                .redirectErrorStream(true).redirectOutput(qemuLog.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        Process helper = null;
        try {
            for (int i = 0; i < 600 && !Files.exists(socket) && qemu.isAlive(); i++) Thread.sleep(50);
            assertTrue(Files.exists(socket), "QEMU did not create its vhost-user socket:\n" + Files.readString(qemuLog));
            Path helperLog = dir.resolve("helper.log");
            String java = ProcessHandle.current().info().command().orElse("java");
            helper = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    Helper.class.getName(), "blk", "--socket", socket.toString(), "--test-open-disk", disk.toString())
                    .redirectErrorStream(true).redirectOutput(helperLog.toFile()).start();
            boolean qemuDone = qemu.waitFor(240, TimeUnit.SECONDS);
            String console = Files.readString(qemuLog, StandardCharsets.ISO_8859_1);
            assertTrue(qemuDone, "the guest did not power off:\n" + console + "\nhelper:\n" + Files.readString(helperLog));
            // QEMU closed the connection: the helper ends on its own, cleanly.
            assertTrue(helper.waitFor(30, TimeUnit.SECONDS), "the helper did not exit after QEMU closed the socket");
            String helperOut = Files.readString(helperLog);
            assertEquals(0, helper.exitValue(), "helper exit status; its log:\n" + helperOut);

            assertTrue(console.contains("VHOST-TEST-DONE"), "guest script did not finish:\n" + console + "\nhelper:\n" + helperOut);
            assertEquals(String.valueOf(DISK_BYTES / 512), marker(console, "sectors"), "capacity the driver read from GET_CONFIG");
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(original)), marker(console, "md5"),
                    "MD5 of the whole disk as the guest read it");
            assertEquals(token, marker(console, "back"), "token read back by the guest after dropping its page cache");
            assertEquals(token, marker(console, "again"), "token read after the driver reset the device and set it up again");

            byte[] after = Files.readAllBytes(disk);
            assertArrayEquals(Arrays.copyOfRange(original, 0, MIB), Arrays.copyOfRange(after, 4 * MIB, 5 * MIB),
                    "the guest's dd copy of the first MiB to 4 MiB reached the image");
            assertEquals(token, new String(after, 1024, token.length(), StandardCharsets.ISO_8859_1), "the guest's token at sector 2");
            assertArrayEquals(Arrays.copyOfRange(original, 1024 + token.length(), 4 * MIB),
                    Arrays.copyOfRange(after, 1024 + token.length(), 4 * MIB), "bytes the guest did not write are unchanged");
        } finally {
            qemu.destroyForcibly();
            if (helper != null) helper.destroyForcibly();
        }
    }

    private static String marker(String console, String key) {
        String prefix = "VHOST-TEST " + key + "=";
        // A line may start with the firmware's terminal escapes, so the marker is searched, not anchored.
        return console.lines().filter(l -> l.contains(prefix)).map(l -> l.substring(l.indexOf(prefix) + prefix.length()).strip())
                .findFirst().orElse("<no " + key + " line>");
    }

    private static byte[] randomBytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) return true;
        }
        return false;
    }

    private static void run(List<String> command, Path log) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, p.exitValue(), command + " failed: " + Files.readString(log));
    }
}
