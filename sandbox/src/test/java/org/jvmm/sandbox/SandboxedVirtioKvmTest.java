package org.jvmm.sandbox;

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
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.IntStream;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.virtio.mmio.VirtioMmioRegisters;
import org.jvmm.virtio.mmio.VirtioMmioTransport;
import org.jvmm.x86.X86Layout;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The C virtio test guest ({@code guests/virtio/virtio_test.c}, the one devices-virtio's VirtioGuestKvmTest
 * runs in-process) on the real KVM with {@code --sandbox=process}: virtio-blk and virtio-console each served
 * by a helper JVM behind jvmm's vhost-user front-end. The guest passes every check it passes in-process
 * (writes, flush, reads, I/O past the end, six broken rings each ending in NEEDS_RESET and recovering, the
 * console both ways), and the host checks the data path: jvmm saw no QueueNotify exit at all (every kick
 * went from KVM's ioeventfd straight to a helper), the image holds the guest's writes, the console carried
 * the guest's bytes, and each broken ring reached the driver as one NEEDS_RESET.
 */
@Timeout(300)
class SandboxedVirtioKvmTest {

    static final int SECTORS = 64;
    static final byte UNTOUCHED = 0x5c;
    static final String HOST_LINE = "ping from the host\n";
    static final long MiB = 1 << 20;

    @TempDir Path dir;

    static void require(boolean ok, String what) {
        if (Boolean.getBoolean("jvmm.requireAll")) assertTrue(ok, what + " (required by jvmm.requireAll)");
        Assumptions.assumeTrue(ok, what);
    }

    static boolean onPath(String tool) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    /** Where the guest's sources are: the repository, or a snapshot of it named by JVMM_GUEST_ROOT. */
    static Path repoRoot() {
        String snapshot = System.getenv("JVMM_GUEST_ROOT");
        return Path.of(snapshot != null ? snapshot : System.getProperty("jvmm.repoRoot", "..")).toAbsolutePath();
    }

    void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command[0] + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + log);
    }

    /** The guest as a bzImage behind the boot-protocol probe's header, built as devices-virtio's test builds it. */
    Path buildGuest() throws IOException, InterruptedException {
        for (String tool : List.of("nasm", "gcc", "ld", "objcopy")) require(onPath(tool), tool + " is not installed");
        Path probe = repoRoot().resolve("arch-x86/src/test/probe");
        Path source = repoRoot().resolve("guests/virtio/virtio_test.c");
        run("nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        run("gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-sse", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-Wall", "-Wextra", "-Werror", "-o", "virtio_test.o", source.toString());
        run("ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "virtio_test.elf", "header.o", "virtio_test.o");
        run("objcopy", "-O", "binary", "virtio_test.elf", "virtio_test.bzImage");
        return dir.resolve("virtio_test.bzImage");
    }

    static String expectedTranscript() throws IOException {
        StringBuilder s = new StringBuilder("VIRTIO: start x86_64\n");
        for (String check : Files.readAllLines(repoRoot().resolve("guests/virtio/checks.txt"))) {
            if (!check.isBlank() && !check.startsWith("#")) s.append("VIRTIO: ok ").append(check).append('\n');
        }
        return s.append("VIRTIO: PASS\n").toString();
    }

    @Test
    void theVirtioGuestPassesWithHelperProcessesAndNoKickReachesJvmm() throws Exception {
        require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm is missing");
        Path kernel = buildGuest();
        byte[] initial = new byte[SECTORS * 512];
        Arrays.fill(initial, UNTOUCHED);
        Path image = Files.write(dir.resolve("disk.img"), initial);

        ByteArrayOutputStream consoleOut = new ByteArrayOutputStream();
        InputStream typed = new ByteArrayInputStream(HOST_LINE.getBytes(StandardCharsets.UTF_8));
        List<String> lost = Collections.synchronizedList(new ArrayList<>());
        List<VirtioDevice> devices = new SandboxedDevices(Sandbox.PROCESS, lost::add)
                .block(image, false)
                .console(typed, consoleOut, 80, 25)
                .open();
        List<Integer> gsis = IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList();
        VirtioMmioDevices virtio = new VirtioMmioDevices(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE, gsis, EventFd::new);
        devices.forEach(virtio::add);

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
        transportLog.setLevel(Level.ALL);
        transportLog.addHandler(needsReset);
        AtomicLong queueNotifyExits = new AtomicLong();
        long slots = X86Layout.VIRTIO_MMIO_SLOTS * X86Layout.VIRTIO_MMIO_SLOT_SIZE;
        ByteArrayOutputStream uart = new ByteArrayOutputStream();
        MachineExit exit;
        List<Integer> statusAtEnd;
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).memory(64 * MiB).cpus(1)
                .console(InputStream.nullInputStream(), uart).extension(virtio)
                .observer((cpu, e, device, value, nanos) -> {
                    if (e instanceof VcpuExit.MmioWrite w) {
                        long offset = w.address() - X86Layout.VIRTIO_MMIO_BASE;
                        if (offset >= 0 && offset < slots && offset % X86Layout.VIRTIO_MMIO_SLOT_SIZE == VirtioMmioRegisters.QUEUE_NOTIFY) {
                            queueNotifyExits.incrementAndGet();
                        }
                    }
                })
                .build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            try {
                exit = guard.submit(m::run).get(240, TimeUnit.SECONDS); // hang guard
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the guest did not finish; UART so far:\n" + text(uart) + "\nNEEDS_RESET: " + reasons);
            } finally {
                guard.shutdownNow();
            }
            statusAtEnd = virtio.transports().stream().map(VirtioMmioTransport::status).toList();
        } finally {
            transportLog.removeHandler(needsReset);
            transportLog.setLevel(levelBefore);
        }
        String out = text(uart);
        assertEquals(expectedTranscript(), out, "NEEDS_RESET reasons: " + reasons);
        assertEquals(0, exit.exitCode(), exit + "\n" + out);
        assertEquals(List.of(0, 0), statusAtEnd, "the guest resets both devices last");
        assertEquals(0, queueNotifyExits.get(), "QueueNotify writes that exited to jvmm instead of going to a helper's ioeventfd");
        assertEquals(6, reasons.size(), "one NEEDS_RESET per broken ring (five blk, one console), each reported by its helper: " + reasons);
        for (String r : reasons) assertTrue(r.contains("queue 0: the vhost-user back-end reported an error"), r);
        assertTrue(lost.isEmpty(), "no helper was lost: " + lost);
        // The console helper's output reaches jvmm through its relay a moment after the guest wrote it.
        String expectedConsole = "hello from x86_64\necho: " + HOST_LINE;
        for (int i = 0; i < 300 && !text(consoleOut).equals(expectedConsole); i++) Thread.sleep(100);
        assertEquals(expectedConsole, text(consoleOut));

        byte[] file = Files.readAllBytes(image);
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < file.length; i++) {
            int sector = i / 512, offset = i % 512;
            byte expected = sector >= 1 && sector <= 7 ? (byte) (sector * 31 + offset * 7 + 3) : UNTOUCHED;
            if (file[i] != expected) wrong.add(i);
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " bytes differ from the guest's writes, first at " + wrong.subList(0, Math.min(8, wrong.size())));
    }

    /**
     * The console helper is killed with SIGKILL right after the guest's driver started the console: the
     * console checks that follow fail in the guest (its device is in NEEDS_RESET, with one log line naming
     * it and the signal), while jvmm goes on and the guest runs to its end. (The blk helper is not the one
     * killed because the guest waits out a long timeout on each of its many blk checks.)
     */
    @Test
    void aHelperKilledWhileTheGuestRunsLeavesItsDeviceNeedingResetAndTheVmGoesOn() throws Exception {
        require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm is missing");
        Path kernel = buildGuest();
        byte[] initial = new byte[SECTORS * 512];
        Arrays.fill(initial, UNTOUCHED);
        Path image = Files.write(dir.resolve("disk.img"), initial);
        ByteArrayOutputStream consoleOut = new ByteArrayOutputStream();
        InputStream typed = new ByteArrayInputStream(HOST_LINE.getBytes(StandardCharsets.UTF_8));
        List<String> lost = Collections.synchronizedList(new ArrayList<>());
        List<VirtioDevice> devices = new SandboxedDevices(Sandbox.PROCESS, lost::add)
                .block(image, false).console(typed, consoleOut, 80, 25).open();
        ProcessHandle consoleHelper = ProcessHandle.current().children()
                .filter(p -> p.info().arguments().map(a -> List.of(a).contains("console")).orElse(false))
                .findFirst().orElseThrow(() -> new AssertionError("no console helper among " + ProcessHandle.current().children().toList()));
        List<Integer> gsis = IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList();
        VirtioMmioDevices virtio = new VirtioMmioDevices(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE, gsis, EventFd::new);
        devices.forEach(virtio::add);
        long consoleStatus = X86Layout.VIRTIO_MMIO_BASE + X86Layout.VIRTIO_MMIO_SLOT_SIZE + VirtioMmioRegisters.STATUS;
        ByteArrayOutputStream uart = new ByteArrayOutputStream();
        MachineExit exit;
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).memory(64 * MiB).cpus(1)
                .console(InputStream.nullInputStream(), uart).extension(virtio)
                .observer((cpu, e, device, value, nanos) -> {
                    // The first DRIVER_OK of the console: it is running in its helper now.
                    if (e instanceof VcpuExit.MmioWrite w && w.address() == consoleStatus && (w.value() & 4) != 0 && consoleHelper.isAlive()) {
                        consoleHelper.destroyForcibly();
                    }
                })
                .build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            try {
                exit = guard.submit(m::run).get(240, TimeUnit.SECONDS); // hang guard
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the guest did not finish; UART so far:\n" + text(uart));
            } finally {
                guard.shutdownNow();
            }
        }
        String out = text(uart);
        assertEquals(0, exit.exitCode(), "jvmm ran the guest to its end: " + exit + "\n" + out);
        assertTrue(out.contains("VIRTIO: ok blk: reset at the end\n"), "the blk helper served the guest before:\n" + out);
        assertTrue(out.contains("VIRTIO: FAIL console: transmit a line\n"), out);
        assertEquals(1, lost.size(), "one line for the lost helper: " + lost);
        assertTrue(lost.getFirst().startsWith("virtio-console: vhost-user back-end lost"), lost.getFirst());
        assertTrue(lost.getFirst().contains("killed by signal 9"), lost.getFirst());
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }
}
