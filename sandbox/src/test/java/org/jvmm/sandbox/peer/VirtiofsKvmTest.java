package org.jvmm.sandbox.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.stream.IntStream;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.virtio.mmio.VirtioMmioRegisters;
import org.jvmm.x86.X86Layout;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The C virtio test guest's peers variant ({@code guests/virtio/virtio_test.c} built with -DVIRTIO_PEERS) on
 * the real KVM, with both of its devices served by vhost-user back-ends jvmm did not write, through jvmm's
 * front-end: slot 0 is qemu-storage-daemon's vhost-user-blk export of a 64-sector image, slot 1 a virtio-fs
 * share served by a real virtiofsd that {@link PeerDevices} starts. The guest's own virtio-fs driver does
 * FUSE_INIT, looks up and reads a file this test put in the shared directory, and creates and writes a file
 * that this test then finds there; the blk checks write, flush and read sectors that this test then finds in
 * the image. No QueueNotify reaches jvmm (KVM's ioeventfds go to the back-ends), virtiofsd serves from its
 * own namespaces, and it exits once jvmm closes the device.
 */
@Timeout(300)
class VirtiofsKvmTest {

    static final int SECTORS = 64;
    static final byte UNTOUCHED = 0x5c;
    static final String HOST_FILE = "written by the host for the guest\n";
    static final String GUEST_FILE = "written by the x86_64 guest through virtio-fs\n";
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

    static boolean virtiofsdInstalled() {
        try {
            Virtiofsd.find();
            return true;
        } catch (ConfigurationException e) {
            return false;
        }
    }

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

    /** The peers variant as a bzImage behind the boot-protocol probe's header. */
    Path buildGuest() throws IOException, InterruptedException {
        for (String tool : List.of("nasm", "gcc", "ld", "objcopy")) require(onPath(tool), tool + " is not installed");
        Path probe = repoRoot().resolve("arch-x86/src/test/probe");
        Path source = repoRoot().resolve("guests/virtio/virtio_test.c");
        run("nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        run("gcc", "-c", "-DVIRTIO_PEERS", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-sse", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-Wall", "-Wextra", "-Werror", "-o", "peers.o", source.toString());
        run("ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "peers.elf", "header.o", "peers.o");
        run("objcopy", "-O", "binary", "peers.elf", "peers.bzImage");
        return dir.resolve("peers.bzImage");
    }

    static String expectedTranscript() throws IOException {
        StringBuilder s = new StringBuilder("VIRTIO: start x86_64\n");
        for (String check : Files.readAllLines(repoRoot().resolve("guests/virtio/checks-peers.txt"))) {
            if (!check.isBlank() && !check.startsWith("#")) s.append("VIRTIO: ok ").append(check).append('\n');
        }
        return s.append("VIRTIO: PASS\n").toString();
    }

    /** virtiofsd processes under this JVM (the one started, and the child its namespace sandbox forks). */
    static List<ProcessHandle> virtiofsds() {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("virtiofsd")).orElse(false)).toList();
    }

    static String namespace(String pid, String kind) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc", pid, "ns", kind)).toString();
    }

    @Test
    void theGuestReadsAndWritesThroughVirtiofsdAndQemuStorageDaemonBehindJvmmsFrontend() throws Exception {
        require(Files.exists(Path.of("/dev/kvm")), "/dev/kvm is missing");
        require(onPath("qemu-storage-daemon"), "qemu-storage-daemon is not installed (apt-get install qemu-system-common)");
        require(virtiofsdInstalled(), "virtiofsd is not installed (apt-get install virtiofsd, or qemu-system-common on Debian 12)");
        require(virtiofsds().isEmpty(), "another virtiofsd already runs under this JVM");
        Path kernel = buildGuest();
        byte[] initial = new byte[SECTORS * 512];
        Arrays.fill(initial, UNTOUCHED);
        Path image = Files.write(dir.resolve("disk.img"), initial);
        Path share = Files.createDirectory(dir.resolve("share"));
        Files.writeString(share.resolve("from-host.txt"), HOST_FILE);
        Path socket = dir.resolve("blk.sock");
        Process qsd = new ProcessBuilder("qemu-storage-daemon",
                "--blockdev", "driver=file,node-name=disk,filename=" + image,
                "--export", "type=vhost-user-blk,id=export,node-name=disk,addr.type=unix,addr.path=" + socket + ",writable=on")
                .redirectErrorStream(true).redirectOutput(dir.resolve("qsd.log").toFile()).start();
        try {
            for (int i = 0; i < 300 && !Files.exists(socket) && qsd.isAlive(); i++) Thread.sleep(100);
            assertTrue(Files.exists(socket), "qemu-storage-daemon did not listen:\n" + Files.readString(dir.resolve("qsd.log")));

            List<String> lost = Collections.synchronizedList(new ArrayList<>());
            List<VirtioDevice> devices = new PeerDevices(lost::add)
                    .vhostUserBlock(socket)
                    .fs(new FsTag("jvmm-share"), share)
                    .open();
            List<Integer> gsis = IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList();
            VirtioMmioDevices virtio = new VirtioMmioDevices(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE, gsis, EventFd::new);
            devices.forEach(virtio::add);
            AtomicLong queueNotifyExits = new AtomicLong();
            long slots = X86Layout.VIRTIO_MMIO_SLOTS * X86Layout.VIRTIO_MMIO_SLOT_SIZE;
            ByteArrayOutputStream uart = new ByteArrayOutputStream();
            MachineExit exit;
            List<String> ownNamespaces = new ArrayList<>();
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
                    throw new AssertionError("the guest did not finish; UART so far:\n" + uart.toString(StandardCharsets.UTF_8) + "\nlost: " + lost);
                } finally {
                    guard.shutdownNow();
                }
                // While jvmm still holds the connection: the virtiofsd serving it is in namespaces of its own.
                for (ProcessHandle p : virtiofsds()) {
                    String pid = Long.toString(p.pid());
                    if (!namespace(pid, "mnt").equals(namespace("self", "mnt")) && !namespace(pid, "net").equals(namespace("self", "net"))) {
                        ownNamespaces.add(pid);
                    }
                }
            }
            String out = uart.toString(StandardCharsets.UTF_8);
            assertEquals(expectedTranscript(), out, "lost back-ends: " + lost);
            assertEquals(0, exit.exitCode(), exit + "\n" + out);
            assertEquals(0, queueNotifyExits.get(), "QueueNotify writes that exited to jvmm instead of going to a back-end's ioeventfd");
            assertTrue(lost.isEmpty(), "no back-end was lost: " + lost);
            assertEquals(GUEST_FILE, Files.readString(share.resolve("from-guest.txt")), "the file the guest created through virtio-fs");
            assertEquals(HOST_FILE, Files.readString(share.resolve("from-host.txt")), "the host's file is unchanged");
            assertNotEquals(List.of(), ownNamespaces, "a virtiofsd process in its own mount and network namespaces (its namespace sandbox)");

            byte[] file = Files.readAllBytes(image);
            List<Integer> wrong = new ArrayList<>();
            for (int i = 0; i < file.length; i++) {
                int sector = i / 512, offset = i % 512;
                byte expected = sector >= 1 && sector <= 7 ? (byte) (sector * 31 + offset * 7 + 3) : UNTOUCHED;
                if (file[i] != expected) wrong.add(i);
            }
            assertTrue(wrong.isEmpty(), wrong.size() + " bytes differ from the guest's writes, first at " + wrong.subList(0, Math.min(8, wrong.size())));
            for (int i = 0; i < 100 && !virtiofsds().isEmpty(); i++) Thread.sleep(100);
            assertEquals(List.of(), virtiofsds(), "virtiofsd exits once jvmm has closed its device");
            assertTrue(qsd.isAlive(), "qemu-storage-daemon still serves:\n" + Files.readString(dir.resolve("qsd.log")));
        } finally {
            qsd.destroy();
            if (!qsd.waitFor(10, TimeUnit.SECONDS)) qsd.destroyForcibly();
        }
    }
}
