package org.jvmm.loader.kit;

import org.jvmm.core.ConfigurationException;
import org.jvmm.loader.BzImage;
import org.jvmm.loader.ElfKernel;
import org.jvmm.loader.KernelImage;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Builds a guest kit from the real Debian packages (downloaded into the repository's .guest/debs cache,
 * or reused from it), reads the archive back with Debian's cpio, and boots it under QEMU (TCG, no KVM)
 * to prove the kit boots real Linux. Skipped when the packages cannot be had, unless jvmm.requireAll.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GuestKitTest {

    static final boolean REQUIRE_ALL = Boolean.getBoolean("jvmm.requireAll");

    GuestKit.Kit kit;
    List<String> listing;
    String init;

    @BeforeAll
    void buildKit() throws Exception {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", "..")).toAbsolutePath().normalize();
        Path out = Path.of("target", "guest-kit-test").toAbsolutePath();
        try {
            kit = GuestKit.build(new GuestKit.Options(GuestKit.Arch.X86_64, out, root.resolve(".guest/debs"), List.of()));
        } catch (ConfigurationException e) {
            if (REQUIRE_ALL) throw e;
            Assumptions.abort("no Debian packages for the guest kit: " + e.getMessage());
        }
        byte[] cpio;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(kit.initramfs()))) {
            cpio = in.readAllBytes();
        }
        listing = run(cpio, "cpio", "-itv", "--quiet").lines().toList();
        init = run(cpio, "cpio", "-i", "--quiet", "--to-stdout", "init");
    }

    @Test
    void theKernelIsThePackagesBzImage() {
        assertEquals("linux-image-" + kit.kernelVersion(), kit.kernelPackage().split(" ")[0]);
        BzImage k = assertInstanceOf(BzImage.class, KernelImage.read(kit.kernel()));
        assertTrue(k.protocolVersion() >= 0x020c);
        assertEquals(kit, GuestKit.load(kit.directory()));
    }

    @Test
    void theKernelsPayloadIsAnElfVmlinuxWithAPvhEntry(@TempDir Path dir) throws Exception {
        BzImage k = (BzImage) KernelImage.read(kit.kernel());
        byte[] pm = k.protectedModeKernel();
        byte[] payload = Arrays.copyOfRange(pm, (int) k.payloadOffset(), (int) (k.payloadOffset() + k.payloadLength()));
        // Debian 12 compresses with xz; the kernel appends the decompressed size after the stream.
        Assumptions.assumeTrue(payload[0] == (byte) 0xfd && payload[1] == '7', "the kernel's payload is not xz-compressed");
        Path compressed = Files.write(dir.resolve("payload.xz"), payload);
        Path vmlinux = dir.resolve("vmlinux");
        Process xz = new ProcessBuilder("xz", "-dc", "--single-stream", compressed.toString())
                .redirectOutput(vmlinux.toFile()).start();
        assertTrue(xz.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, xz.exitValue());
        ElfKernel elf = assertInstanceOf(ElfKernel.class, KernelImage.read(vmlinux));
        // Debian builds with CONFIG_PVH=y, so the Xen PHYS32_ENTRY note is there; both entries are in loaded code.
        long pvh = elf.pvhEntry().orElseThrow();
        assertTrue(elf.segments().stream().anyMatch(s -> pvh >= s.physicalAddress() && pvh < s.physicalAddress() + s.memorySize()));
        assertTrue(elf.segments().stream().anyMatch(s -> elf.entry() >= s.physicalAddress()
                && elf.entry() < s.physicalAddress() + s.memorySize()));
    }

    @Test
    void theArchiveHasInitBusyboxTheConsoleAndTheModules() {
        assertTrue(entry("init").startsWith("-rwxr-xr-x"), entry("init"));
        assertTrue(entry("bin/busybox").startsWith("-rwxr-xr-x"), entry("bin/busybox"));
        assertTrue(entry("bin/sh").endsWith("bin/sh -> busybox"), entry("bin/sh"));
        for (String applet : List.of("poweroff", "reboot", "insmod", "mount", "setsid", "cttyhack", "grep", "sed")) {
            assertTrue(listing.stream().anyMatch(l -> l.startsWith("lrwxrwxrwx") && l.matches(
                    ".* (bin|sbin|usr/bin|usr/sbin)/" + applet + " -> /bin/busybox")), applet + " has no applet link");
        }
        assertTrue(entry("dev/console").matches("crw------- +1 root +root +5, +1 .*"), entry("dev/console"));
        // Debian's kernels build these drivers as modules; a kernel with them built in needs none of them.
        for (String module : List.of("virtio_mmio", "virtio_blk", "virtio_net", "virtio_console", "virtiofs", "ext4")) {
            assertTrue(kit.modules().contains(module) ^ kit.builtIn().contains(module), module);
        }
        for (String module : kit.modules()) {
            assertEquals(1, listing.stream().filter(l -> l.contains("/lib/modules/".substring(1) + kit.kernelVersion())
                    && (l.endsWith("/" + module + ".ko") || l.endsWith("/" + module.replace('_', '-') + ".ko"))).count(), module);
        }
    }

    @Test
    void initLoadsEveryModuleAfterItsDependencies() {
        // Facts of Linux's module graph, not of the code under test.
        assertBefore("virtio_ring", "virtio");
        assertBefore("virtio", "virtio_mmio");
        for (String device : List.of("virtio_blk", "virtio_net", "virtio_console")) assertBefore("virtio", device);
        assertBefore("virtio", "virtiofs");
        assertBefore("fuse", "virtiofs");
        assertBefore("failover", "net_failover");
        assertBefore("net_failover", "virtio_net");
        for (String dep : List.of("jbd2", "mbcache", "crc16")) assertBefore(dep, "ext4");
        assertTrue(init.startsWith("#!/bin/sh\n"));
        assertTrue(init.contains("mount -t devtmpfs devtmpfs /dev"));
    }

    @Test
    @Timeout(180)
    void bootsUnderQemuPrintsTheMarkerAndPowersOff() throws Exception {
        QemuBoot boot = boot("console=ttyS0 jvmm.halt=poweroff", null);
        Matcher m = boot.marker();
        assertEquals("2", m.group(1), boot.log());
        long memKb = Long.parseLong(m.group(2));
        assertTrue(memKb > 256 * 1024 && memKb < 512 * 1024, "MemTotal of a 512 MiB guest: " + memKb);
        assertEquals(kit.kernelVersion(), m.group(3));
        assertEquals(0, boot.status(), boot.log()); // QEMU exits by itself on ACPI power-off, not by timeout (124)
        assertTrue(boot.log().contains("reboot: Power down"), boot.log());
        assertFalse(boot.log().contains("jvmm init: insmod"), "a module failed to load:\n" + boot.log());
    }

    @Test
    @Timeout(180)
    void rebootEndsQemuWithNoReboot() throws Exception {
        QemuBoot boot = boot("console=ttyS0 jvmm.halt=reboot", null);
        boot.marker();
        assertEquals(0, boot.status(), boot.log());
        assertTrue(boot.log().contains("reboot: Restarting system"), boot.log());
    }

    @Test
    @Timeout(180)
    void withoutHaltTheConsoleIsAShellAndExitingItPowersOff() throws Exception {
        QemuBoot boot = boot("console=ttyS0", "echo shell-$((6*7)) $(cat /sys/class/tty/console/active)\nexit\n");
        boot.marker();
        assertTrue(boot.log().contains("shell-42 ttyS0"), boot.log());
        assertEquals(0, boot.status(), boot.log());
        assertTrue(boot.log().contains("reboot: Power down"), boot.log());
    }

    private void assertBefore(String first, String then) {
        int a = insmodLine(first), b = insmodLine(then);
        assertTrue(a < b, first + " must load before " + then + ":\n" + init);
    }

    private int insmodLine(String module) {
        List<String> lines = init.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.startsWith("insmod ") && (l.contains("/" + module + ".ko ") || l.contains("/" + module.replace('_', '-') + ".ko "))) return i;
        }
        return fail("/init does not load " + module + ":\n" + init);
    }

    private String entry(String name) {
        return listing.stream().filter(l -> l.endsWith(" " + name) || l.contains(" " + name + " -> ")).findFirst()
                .orElseGet(() -> fail(name + " is not in the archive:\n" + String.join("\n", listing)));
    }

    /** Boots the kit under QEMU TCG ({@code -M pc}), typing {@code input} on the console once the marker has appeared. */
    private QemuBoot boot(String cmdline, String input) throws Exception {
        return QemuBoot.run(List.of("qemu-system-x86_64", "-M", "pc", "-accel", "tcg",
                "-kernel", kit.kernel().toString(), "-initrd", kit.initramfs().toString(), "-append", cmdline,
                "-nographic", "-no-reboot", "-m", "512", "-smp", "2"), input);
    }

    static String run(byte[] stdin, String... command) throws Exception {
        Process p = new ProcessBuilder(command).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofPlatform().start(() -> {
            try { p.getInputStream().transferTo(out); } catch (IOException ignored) { }
        });
        try (OutputStream in = p.getOutputStream()) { in.write(stdin); }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " hung");
        reader.join();
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed: " + new String(p.getErrorStream().readAllBytes()));
        return out.toString(StandardCharsets.UTF_8);
    }
}
