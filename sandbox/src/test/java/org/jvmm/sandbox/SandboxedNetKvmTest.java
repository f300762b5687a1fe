package org.jvmm.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.virtio.net.MacAddress;
import org.jvmm.virtio.net.TapBackend;
import org.jvmm.x86.X86Layout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-net in a helper process on the real KVM, through a TAP device: jvmm opens the TAP (the test then
 * moves it into a fresh network namespace with 10.99.0.1), the net helper receives its descriptor and
 * nothing else, and devices-virtio's C net guest ({@code src/test/guests/net.c}) gets its ARP reply from
 * the namespace's kernel. Needs root, /dev/kvm, iproute2 and the C toolchain.
 */
@Timeout(300)
class SandboxedNetKvmTest {

    static final MacAddress GUEST_MAC = MacAddress.parse("52:54:00:12:34:56");

    @TempDir Path dir;
    final String namespace = "jvmm-snet-" + ProcessHandle.current().pid();
    boolean namespaceCreated;

    static void require(boolean ok, String what) {
        if (Boolean.getBoolean("jvmm.requireAll")) assertTrue(ok, what + " (required by jvmm.requireAll)");
        Assumptions.assumeTrue(ok, what);
    }

    static boolean onPath(String tool) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (namespaceCreated) run("ip", "netns", "del", namespace);
    }

    String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command[0] + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + log);
        return log;
    }

    Path buildGuest() throws IOException, InterruptedException {
        for (String tool : List.of("nasm", "gcc", "ld", "objcopy")) require(onPath(tool), tool + " is not installed");
        Path root = Path.of(System.getProperty("jvmm.repoRoot", "..")).toAbsolutePath();
        Path probe = root.resolve("arch-x86/src/test/probe");
        run("nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        run("gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-Wall", "-Wno-unused-parameter", "-o", "net.o", root.resolve("devices-virtio/src/test/guests/net.c").toString());
        run("ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "net.elf", "header.o", "net.o");
        run("objcopy", "-O", "binary", "net.elf", "net.bzImage");
        return dir.resolve("net.bzImage");
    }

    @Test
    void arpThroughATapDeviceServedByANetHelper() throws Exception {
        require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm is missing");
        require(onPath("ip"), "ip (iproute2) is not installed");
        require("root".equals(System.getProperty("user.name")), "network namespaces need root");
        Path kernel = buildGuest();
        run("ip", "netns", "add", namespace);
        namespaceCreated = true;
        String tap = "jvs" + ProcessHandle.current().pid() % 100000;
        SandboxedDevices set = new SandboxedDevices(Sandbox.PROCESS, line -> {});
        set.net(TapBackend.open(tap), GUEST_MAC); // opened by jvmm; its descriptor goes to the helper
        List<VirtioDevice> devices = set.open();
        run("ip", "link", "set", tap, "netns", namespace);
        run("ip", "-n", namespace, "addr", "add", "10.99.0.1/24", "dev", tap);
        run("ip", "-n", namespace, "link", "set", tap, "up");
        Matcher mac = Pattern.compile("link/ether ([0-9a-f:]{17})").matcher(run("ip", "-n", namespace, "link", "show", "dev", tap));
        assertTrue(mac.find());

        List<Integer> gsis = IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList();
        VirtioMmioDevices virtio = new VirtioMmioDevices(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE, gsis, EventFd::new);
        devices.forEach(virtio::add);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        MachineExit exit;
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).memory(64L << 20).cpus(1)
                .console(InputStream.nullInputStream(), console).extension(virtio).build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            try {
                exit = guard.submit(m::run).get(240, TimeUnit.SECONDS); // hang guard
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the guest did not finish; console so far:\n" + text(console));
            } finally {
                guard.shutdownNow();
            }
        }
        String out = text(console);
        assertEquals(0, exit.exitCode(), exit + "\n" + out);
        assertTrue(out.contains("NET: mac " + GUEST_MAC + "\n"), out);
        assertTrue(out.contains("NET: is-at " + mac.group(1) + "\n"), "expected the reply from " + mac.group(1) + ":\n" + out);
        assertTrue(out.endsWith("NET: PASS\n"), out);
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }
}
