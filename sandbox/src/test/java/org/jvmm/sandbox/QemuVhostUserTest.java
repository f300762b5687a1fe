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
 * Interop proof for the blk and net helpers (issue 4, item 8b): QEMU, a real vhost-user front-end, boots the
 * guest kit's Debian kernel with {@code vhost-user-blk-pci} and a {@code virtio-net-pci} on a
 * {@code vhost-user} netdev, each backed by one of jvmm's {@link Helper}s in its own JVM under its seccomp
 * policy ({@code --jail enforce}), and the guest's Linux virtio-blk and virtio-net drivers read and write the
 * disk and move packets through them.
 *
 * <p>The guest runs a small script from an initramfs overlay (the kernel unpacks concatenated
 * archives; {@code rdinit=} selects the script so the kit's own /init stays untouched). It loads the kit's
 * modules and virtio_pci (a module in Debian's kernel, not part of the kit, taken from the kit's cached kernel
 * package), then, on the disk: prints the MD5 of the whole disk (random bytes the test wrote), copies the first
 * MiB to 4 MiB with {@code dd}, writes a token from the kernel command line at sector 2 with fsync, drops
 * the page cache and reads the token back, then unbinds and rebinds the driver (a device reset: QEMU
 * stops the ring and sets it up again) and reads the token once more. On the network: the net helper serves a
 * TAP device whose other end the test moves into a network namespace of its own (10.99.1.1/24, with busybox's
 * httpd and nc listening there); the guest pings that peer, fetches a random blob over HTTP and prints its
 * SHA-256, and sends the MiB it copied to 4 MiB to the peer's nc. Every expectation is computed here from the
 * test's own data. Needs root (network namespaces, TAP), iproute2 and busybox.
 */
class QemuVhostUserTest {

    private static final boolean REQUIRE_ALL = Boolean.getBoolean("jvmm.requireAll");
    private static final int MIB = 1 << 20;
    private static final int DISK_BYTES = 8 * MIB;
    private static final int BLOB_BYTES = 256 * 1024;
    private static final String GUEST_MAC = "52:54:00:12:34:57";
    private static final String PEER = "10.99.1.1";

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
            # the kit's modules (virtio, virtio_blk, virtio_net and what it needs), then virtio_pci
            grep '^insmod ' /init | sh >/dev/null 2>&1
            for m in /vhost/virtio_pci_legacy_dev.ko /vhost/virtio_pci_modern_dev.ko /vhost/virtio_pci.ko; do
              insmod $m || echo "VHOST-TEST insmod $m failed"
            done
            i=0; while { [ ! -b /dev/vda ] || [ ! -e /sys/class/net/eth0 ]; } && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
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
            # The network: the peer appears once the test has moved the TAP into its namespace.
            echo "VHOST-TEST mac=$(cat /sys/class/net/eth0/address)"
            ip link set lo up; ip link set eth0 up; ip addr add 10.99.1.2/24 dev eth0
            i=0; until ping -c 1 -W 2 10.99.1.1 >/dev/null 2>&1 || [ $i -ge 60 ]; do i=$((i+1)); done
            echo "VHOST-TEST ping=$(ping -c 3 -W 5 10.99.1.1 >/dev/null 2>&1 && echo ok || echo failed)"
            echo "VHOST-TEST fetched=$(wget -q -O - http://10.99.1.1:8080/blob | sha256sum | cut -d' ' -f1)"
            dd if=/dev/vda bs=65536 skip=64 count=16 2>/dev/null | nc 10.99.1.1 9000
            echo "VHOST-TEST sent=$?"
            echo VHOST-TEST-DONE
            poweroff -f
            """;

    @Test
    @Timeout(value = 360, unit = TimeUnit.SECONDS)
    void linuxVirtioBlkAndNetDriversWorkThroughTheHelpers(@TempDir Path dir) throws Exception {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", ".."));
        Path kit = root.resolve(".guest/x86_64");
        require(Files.isRegularFile(kit.resolve("vmlinuz")) && Files.isRegularFile(kit.resolve("initramfs.cpio.gz"))
                && Files.isRegularFile(kit.resolve("kit.properties")), "the x86_64 guest kit (run bin/guest-kit)");
        require(onPath("qemu-system-x86_64"), "qemu-system-x86_64 (apt-get install qemu-system-x86)");
        require(onPath("dpkg-deb") && onPath("tar"), "dpkg-deb and tar");
        require(onPath("ip") && onPath("busybox"), "ip (iproute2) and busybox (busybox-static)");
        require("root".equals(System.getProperty("user.name")), "root, for the network namespace and the TAP device");
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
        byte[] blob = randomBytes(random, BLOB_BYTES);
        Path www = Files.createDirectories(dir.resolve("www"));
        Files.write(www.resolve("blob"), blob);

        String namespace = "jvmm-qvu-" + ProcessHandle.current().pid();
        String tap = "jvq" + ProcessHandle.current().pid() % 100000;
        Path blkSocket = dir.resolve("blk.sock"), netSocket = dir.resolve("net.sock");
        Path qemuLog = dir.resolve("qemu.log"), blkLog = dir.resolve("blk-helper.log"), netLog = dir.resolve("net-helper.log");
        Path received = dir.resolve("received");
        List<Process> processes = new ArrayList<>();
        run(List.of("ip", "netns", "add", namespace), dir.resolve("netns.log"));
        try {
            // QEMU waits for each server socket's connection in turn: the disk's, then the network's.
            Process qemu = start(processes, qemuLog, "qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-m", "512M", "-smp", "1",
                    "-nographic", "-no-reboot",
                    "-object", "memory-backend-memfd,id=mem,size=512M,share=on", "-numa", "node,memdev=mem",
                    "-chardev", "socket,id=cb,path=" + blkSocket + ",server=on",
                    "-device", "vhost-user-blk-pci,chardev=cb",
                    "-chardev", "socket,id=cn,path=" + netSocket + ",server=on",
                    "-netdev", "vhost-user,id=n0,chardev=cn",
                    // vectors=0 (INTx): with MSI-X, QEMU 7.2.22 (Debian 12) segfaults in vhost_net_start as it sets the
                    // vector notifiers (a NULL vector_irqfd under TCG; gdb: virtio_set_status > vhost_net_start >
                    // msix_set_vector_notifiers), once SET_VRING_ENABLE succeeds. romfile= skips iPXE's option ROM.
                    "-device", "virtio-net-pci,netdev=n0,romfile=,vectors=0,mac=" + GUEST_MAC,
                    "-kernel", kit.resolve("vmlinuz").toString(), "-initrd", initrd.toString(),
                    "-append", "console=ttyS0 rdinit=/vhost-test panic=-1 vhosttest.token=" + token);
            awaitSocket(blkSocket, qemu, qemuLog);
            Process blk = start(processes, blkLog, helperCommand("blk", "--socket", blkSocket.toString(),
                    "--test-open-disk", disk.toString(), "--jail", "enforce"));
            awaitSocket(netSocket, qemu, qemuLog);
            Process net = start(processes, netLog, helperCommand("net", "--socket", netSocket.toString(),
                    "--test-open-tap", tap, "--mac", GUEST_MAC, "--jail", "enforce"));

            // The helper attaches to (and so creates) the TAP in this namespace; its descriptor keeps working
            // once the interface moves into the peer's namespace.
            for (int i = 0; i < 600 && !Files.exists(Path.of("/sys/class/net", tap)) && net.isAlive(); i++) Thread.sleep(50);
            assertTrue(Files.exists(Path.of("/sys/class/net", tap)), "the net helper never attached to " + tap + ":\n" + Files.readString(netLog));
            run(List.of("ip", "link", "set", tap, "netns", namespace), dir.resolve("ip.log"));
            run(List.of("ip", "-n", namespace, "addr", "add", PEER + "/24", "dev", tap), dir.resolve("ip.log"));
            run(List.of("ip", "-n", namespace, "link", "set", tap, "up"), dir.resolve("ip.log"));
            run(List.of("ip", "-n", namespace, "link", "set", "lo", "up"), dir.resolve("ip.log"));
            start(processes, dir.resolve("httpd.log"), "ip", "netns", "exec", namespace, "busybox", "httpd", "-f",
                    "-p", PEER + ":8080", "-h", www.toString());
            // nc's standard input stays open (a pipe this test never closes): at its end, nc would shut the connection's sending half
            // down, and the guest's nc would stop at that end of input from the network.
            Process nc = new ProcessBuilder("ip", "netns", "exec", namespace, "busybox", "nc", "-l", "-p", "9000")
                    .redirectOutput(received.toFile()).redirectError(dir.resolve("nc.log").toFile()).start();
            processes.add(nc);

            boolean qemuDone = qemu.waitFor(300, TimeUnit.SECONDS);
            String console = Files.readString(qemuLog, StandardCharsets.ISO_8859_1);
            String helpers = "\nblk helper:\n" + Files.readString(blkLog) + "\nnet helper:\n" + Files.readString(netLog);
            assertTrue(qemuDone, "the guest did not power off:\n" + console + helpers);
            // QEMU closed the connections: the helpers end on their own, cleanly.
            assertTrue(blk.waitFor(30, TimeUnit.SECONDS) && net.waitFor(30, TimeUnit.SECONDS),
                    "a helper did not exit after QEMU closed its socket" + helpers);
            assertEquals(0, blk.exitValue(), "blk helper exit status" + helpers);
            assertEquals(0, net.exitValue(), "net helper exit status" + helpers);

            assertTrue(console.contains("VHOST-TEST-DONE"), "guest script did not finish (QEMU's exit status "
                    + qemu.exitValue() + "):\n" + console + helpers);
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

            assertEquals(GUEST_MAC, marker(console, "mac"), "the MAC address the guest's driver sees");
            assertEquals("ok", marker(console, "ping"), "the guest pinged the peer in the test's namespace" + helpers);
            assertEquals(sha256(blob), marker(console, "fetched"), "SHA-256 of the blob the guest fetched over HTTP");
            assertEquals("0", marker(console, "sent"), "the guest's nc exit status");
            assertTrue(nc.waitFor(30, TimeUnit.SECONDS), "the peer's nc did not see the guest's end of the stream");
            assertEquals(sha256(Arrays.copyOfRange(original, 0, MIB)), sha256(Files.readAllBytes(received)),
                    "SHA-256 of what the peer received: the MiB the guest sent (" + Files.size(received) + " bytes arrived)");
        } finally {
            for (Process p : processes) p.destroyForcibly();
            for (Process p : processes) p.waitFor(10, TimeUnit.SECONDS);
            run(List.of("ip", "netns", "del", namespace), dir.resolve("netns.log"));
        }
    }

    /** The helper in a JVM of its own, on this test's class path. */
    private static List<String> helperCommand(String... args) {
        List<String> c = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"),
                Helper.class.getName()));
        c.addAll(List.of(args));
        return c;
    }

    private static Process start(List<Process> processes, Path log, String... command) throws IOException {
        return start(processes, log, List.of(command));
    }

    private static Process start(List<Process> processes, Path log, List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(p);
        return p;
    }

    private static void awaitSocket(Path socket, Process qemu, Path qemuLog) throws Exception {
        for (int i = 0; i < 600 && !Files.exists(socket) && qemu.isAlive(); i++) Thread.sleep(50);
        assertTrue(Files.exists(socket), "QEMU did not create its vhost-user socket " + socket.getFileName() + ":\n" + Files.readString(qemuLog));
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
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
