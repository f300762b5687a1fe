package org.jvmm.virtio.net;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.x86.X86Layout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-net on the real KVM: a freestanding C guest ({@code src/test/guests/net.c}, a minimal
 * virtio-mmio driver) sends an ARP request for 10.99.0.1 from 10.99.0.2 and waits for the reply, which
 * must name the MAC address of the host-side interface that answered:
 * <ul>
 *   <li>through a TAP device that the test moves into a fresh network namespace and gives 10.99.0.1, so
 *       the namespace's kernel answers;</li>
 *   <li>through a real passt process, run in a fresh namespace whose only link is a veth pair inside it,
 *       so passt answers ARP itself and nothing can leave the namespace.</li>
 * </ul>
 * Both need root (network namespaces) and the tools; with {@code jvmm.requireAll} their absence fails.
 */
@Timeout(300)
class VirtioNetKvmTest {

    static final long MiB = 1 << 20;
    static final boolean REQUIRE_ALL = Boolean.getBoolean("jvmm.requireAll");
    static final MacAddress GUEST_MAC = MacAddress.parse("52:54:00:12:34:56");

    @TempDir Path dir;
    final String namespace = "jvmm-net-" + ProcessHandle.current().pid();
    final List<Process> processes = new ArrayList<>();
    boolean namespaceCreated;

    static void require(boolean ok, String what) {
        if (REQUIRE_ALL) assertTrue(ok, what + " (required by jvmm.requireAll)");
        Assumptions.assumeTrue(ok, what);
    }

    static boolean onPath(String tool) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : processes) {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        if (namespaceCreated) run("ip", "netns", "del", namespace);
    }

    String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command[0] + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + log);
        return log;
    }

    /** Compiles the guest against the boot-protocol probe's header and linker script. */
    Path buildGuest() throws IOException, InterruptedException {
        for (String tool : List.of("nasm", "gcc", "ld", "objcopy")) require(onPath(tool), tool + " is not installed");
        Path root = Path.of(System.getProperty("jvmm.repoRoot", ".."));
        Path probe = root.resolve("arch-x86/src/test/probe").toAbsolutePath();
        Path source = root.resolve("devices-virtio/src/test/guests/net.c").toAbsolutePath();
        run("nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        run("gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-Wall", "-Wno-unused-parameter", "-o", "net.o", source.toString());
        run("ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "net.elf", "header.o", "net.o");
        run("objcopy", "-O", "binary", "net.elf", "net.bzImage");
        return dir.resolve("net.bzImage");
    }

    void requireNamespaces() throws IOException, InterruptedException {
        require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm is missing");
        require(onPath("ip"), "ip (iproute2) is not installed");
        require("root".equals(System.getProperty("user.name")), "network namespaces need root");
        run("ip", "netns", "add", namespace);
        namespaceCreated = true;
        run("ip", "-n", namespace, "link", "set", "lo", "up");
    }

    String macOf(String ifname) throws IOException, InterruptedException {
        Matcher m = Pattern.compile("link/ether ([0-9a-f:]{17})").matcher(run("ip", "-n", namespace, "link", "show", "dev", ifname));
        assertTrue(m.find(), "no MAC for " + ifname);
        return m.group(1);
    }

    /** Boots the guest with {@code net} in slot 0 and returns its console output after it ended. */
    String boot(VirtioNet net) throws Exception {
        Path kernel = buildGuest();
        List<Integer> gsis = IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList();
        VirtioMmioDevices virtio = new VirtioMmioDevices(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE,
                gsis, EventFd::new).add(net);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        MachineExit exit;
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).memory(64 * MiB).cpus(1)
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
        return out;
    }

    @Test
    void arpThroughATapDeviceInANetworkNamespace() throws Exception {
        requireNamespaces();
        String tap = "jvt" + ProcessHandle.current().pid() % 100000;
        TapBackend backend = TapBackend.open(tap); // created here, in the host namespace, down and without address
        VirtioNet net = new VirtioNet(backend, GUEST_MAC);
        try {
            run("ip", "link", "set", tap, "netns", namespace);
            run("ip", "-n", namespace, "addr", "add", "10.99.0.1/24", "dev", tap);
            run("ip", "-n", namespace, "link", "set", tap, "up");
        } catch (Throwable t) {
            net.close();
            throw t;
        }
        String peer = macOf(tap);
        String out = boot(net);
        assertTrue(out.contains("NET: mac " + GUEST_MAC + "\n"), out);
        assertTrue(out.contains("NET: is-at " + peer + "\n"), "expected the reply from " + peer + ":\n" + out);
        assertTrue(out.endsWith("NET: PASS\n"), out);
    }

    @Test
    void arpThroughARealPasstProcess() throws Exception {
        requireNamespaces();
        require(onPath("passt"), "passt is not installed");
        // passt needs an interface with a default route to copy; a veth pair with both ends in the
        // namespace gives it one from which nothing can leave.
        run("ip", "-n", namespace, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        run("ip", "-n", namespace, "addr", "add", "10.99.0.1/24", "dev", "v0");
        run("ip", "-n", namespace, "link", "set", "v1", "up");
        run("ip", "-n", namespace, "link", "set", "v0", "up");
        run("ip", "-n", namespace, "route", "add", "default", "via", "10.99.0.254", "dev", "v0");
        Path socket = dir.resolve("passt.sock");
        // passt drops to nobody when started as root: it must be able to create its socket there.
        dir.toFile().setWritable(true, false);
        dir.toFile().setExecutable(true, false);
        Process passt = new ProcessBuilder("ip", "netns", "exec", namespace, "passt", "-f", "-e", "-1", "-4",
                "-s", socket.toString(), "-a", "10.99.0.2", "-n", "24", "-g", "10.99.0.1", "--no-dhcp", "-t", "none", "-u", "none")
                .redirectErrorStream(true).redirectOutput(dir.resolve("passt.log").toFile()).start();
        processes.add(passt);
        for (int i = 0; i < 300 && !Files.exists(socket) && passt.isAlive(); i++) Thread.sleep(100);
        assertTrue(Files.exists(socket), "passt did not create its socket:\n" + Files.readString(dir.resolve("passt.log")));
        VirtioNet net = new VirtioNet(StreamSocketBackend.connect(socket.toString()), GUEST_MAC);
        String out = boot(net);
        // passt answers with the MAC of the interface it copied (its "host" address in its log).
        assertTrue(out.contains("NET: is-at " + macOf("v0") + "\n"), out);
        assertTrue(out.endsWith("NET: PASS\n"), out);
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }
}
