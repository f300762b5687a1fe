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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jvmm --net passt:SOCKET} end to end on the real KVM and the real x86 platform: the virtio-net
 * test guest of devices-virtio ({@code devices-virtio/src/test/guests/net.c}), which drives the device
 * in the first virtio-mmio slot, gets its ARP reply from a passt process confined to a fresh network
 * namespace (a veth pair inside it is its only link), once with the device in a helper process
 * ({@code --sandbox=process}, which gets passt's socket from jvmm) and once inside jvmm. Needs root,
 * /dev/kvm, passt and the C toolchain.
 */
@Timeout(300)
class VirtioCliKvmTest {

    @TempDir Path dir;
    final String namespace = "jvmm-cli-" + ProcessHandle.current().pid();
    boolean namespaceCreated;
    Process passt;

    @AfterEach
    void cleanUp() throws Exception {
        if (passt != null) {
            passt.destroy();
            passt.waitFor(10, TimeUnit.SECONDS);
        }
        if (namespaceCreated) TestTools.run(dir, "ip", "netns", "del", namespace);
    }

    private Path buildNetGuest() throws IOException, InterruptedException {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", ".."));
        Path probe = root.resolve("arch-x86/src/test/probe").toAbsolutePath();
        Path source = root.resolve("devices-virtio/src/test/guests/net.c").toAbsolutePath();
        TestTools.run(dir, "nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        TestTools.run(dir, "gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-Wall", "-Wno-unused-parameter", "-o", "net.o", source.toString());
        TestTools.run(dir, "ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "net.elf", "header.o", "net.o");
        TestTools.run(dir, "objcopy", "-O", "binary", "net.elf", "net.bzImage");
        return dir.resolve("net.bzImage");
    }

    /** {@code --sandbox=process}: the device runs in a net helper that got passt's socket from jvmm. */
    @ParameterizedTest
    @ValueSource(strings = {"process", "none"})
    void netPasstReachesTheGuestThroughTheX86Layout(String sandbox) throws Exception {
        TestTools.require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm");
        for (String tool : List.of("nasm", "gcc", "ld", "objcopy", "ip", "passt")) TestTools.require(TestTools.onPath(tool), tool);
        TestTools.require("root".equals(System.getProperty("user.name")), "root (network namespaces)");
        Path kernel = buildNetGuest();
        TestTools.run(dir, "ip", "netns", "add", namespace);
        namespaceCreated = true;
        TestTools.run(dir, "ip", "-n", namespace, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        TestTools.run(dir, "ip", "-n", namespace, "addr", "add", "10.99.0.1/24", "dev", "v0");
        TestTools.run(dir, "ip", "-n", namespace, "link", "set", "v1", "up");
        TestTools.run(dir, "ip", "-n", namespace, "link", "set", "v0", "up");
        TestTools.run(dir, "ip", "-n", namespace, "route", "add", "default", "via", "10.99.0.254", "dev", "v0");
        Path socket = dir.resolve("passt.sock");
        dir.toFile().setWritable(true, false); // passt drops to nobody and creates its socket here
        dir.toFile().setExecutable(true, false);
        passt = new ProcessBuilder("ip", "netns", "exec", namespace, "passt", "-f", "-e", "-1", "-4", "-s", socket.toString(),
                "-a", "10.99.0.2", "-n", "24", "-g", "10.99.0.1", "--no-dhcp", "-t", "none", "-u", "none")
                .redirectErrorStream(true).redirectOutput(dir.resolve("passt.log").toFile()).start();
        for (int i = 0; i < 300 && !Files.exists(socket) && passt.isAlive(); i++) Thread.sleep(100);
        assertTrue(Files.exists(socket), "passt did not create its socket:\n" + Files.readString(dir.resolve("passt.log")));

        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Jvmm.execute(new String[] {"--arch", "x86_64", "--kernel", kernel.toString(), "--mem", "64M",
                        "--net", "passt:" + socket + ",mac=52:54:00:ab:cd:ef", "--sandbox", sandbox},
                InputStream.nullInputStream(), out, new PrintStream(err, true, StandardCharsets.UTF_8), false);
        String console = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, console + err);
        assertTrue(console.contains("NET: mac 52:54:00:ab:cd:ef\n"), console);
        assertTrue(console.contains("NET: PASS\n"), console);
    }
}
