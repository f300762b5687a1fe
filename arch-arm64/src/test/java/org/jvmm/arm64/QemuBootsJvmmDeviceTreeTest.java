package org.jvmm.arm64;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.core.platform.MachineConfig;
import org.jvmm.loader.Arm64Image;
import org.jvmm.loader.KernelImage;
import org.jvmm.loader.kit.GuestKit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device tree proven against a real arm64 kernel: QEMU's {@code virt} machine (TCG) boots the guest kit's
 * Debian arm64 kernel with jvmm's DTB instead of its own. Because the layout is virt's, the hardware is really
 * where jvmm's tree says: the kernel must find both CPUs through PSCI, the GICv3 redistributors, the timer, the
 * PL011 and a virtio-blk disk on the transport and SPI the tree names, and the kit's /init must come up.
 *
 * <p>QEMU rewrites two things in a {@code -dtb} it is given: the memory node and the initrd range in /chosen
 * (hw/arm/boot.c); everything else the kernel sees is jvmm's. The kit's kernel Image is also parsed and placed
 * by jvmm's own code here, to check it against booting.rst on a real kernel.
 *
 * <p>Needs qemu-system-aarch64 (package qemu-system-arm) and the arm64 guest kit ({@code .guest/arm64}, from
 * bin/guest-kit); skips without them unless {@code jvmm.requireAll} is set.
 */
class QemuBootsJvmmDeviceTreeTest {

    private static final long MiB = 1L << 20;
    @TempDir Path dir;

    private static Path require(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(d, tool);
            if (Files.isExecutable(p)) return p;
        }
        missing(tool + " is not installed (package qemu-system-arm)");
        return null;
    }

    private static void missing(String what) {
        if (Boolean.getBoolean("jvmm.requireAll")) fail(what + " (jvmm.requireAll is set)");
        Assumptions.abort(what);
    }

    private static GuestKit.Kit kit() {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", "."));
        Path dir = root.resolve(".guest").resolve("arm64");
        if (!Files.isRegularFile(dir.resolve(GuestKit.PROPERTIES_FILE))) {
            if (!Boolean.getBoolean("jvmm.requireAll")) Assumptions.abort("no arm64 guest kit in .guest/arm64 (bin/guest-kit --arch arm64)");
            return GuestKit.build(GuestKit.Options.defaults(root, GuestKit.Arch.ARM64));
        }
        return GuestKit.load(dir);
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void debianArm64KernelBootsOnJvmmsDeviceTree() throws Exception {
        Path qemu = require("qemu-system-aarch64");
        GuestKit.Kit kit = kit();

        // jvmm parses and places the real Image: text_offset 0 on modern kernels, at RAM's 2 MiB-aligned start.
        Arm64Image image = (Arm64Image) KernelImage.read(kit.kernel());
        assertFalse(image.bigEndian());
        Arm64BootPlan plan = Arm64BootPlan.plan(512 * MiB, image.textOffset(), image.loadSize(),
                Files.size(kit.initramfs()));
        assertEquals(0, (plan.kernelAddress() - image.textOffset()) % (2 * MiB));
        assertTrue(plan.kernelEnd() <= plan.initrdAddress() && plan.initrdEnd() <= plan.fdtAddress());

        MachineConfig config = new MachineConfig(512 * MiB, 2, kit.kernel(), Optional.of(kit.initramfs()),
                "console=ttyAMA0 earlycon panic=-1 jvmm.halt=poweroff", new ByteArrayInputStream(new byte[0]),
                new ByteArrayOutputStream());
        // QEMU attaches the first -device virtio-*-device to its last transport: number 31, 0x0a003e00, SPI 47.
        byte[] dtb = new Arm64Platform().deviceTree(config, List.of(new DeviceDescription("virtio-mmio",
                Arm64Layout.virtioMmioBase(31), Arm64Layout.VIRTIO_MMIO_SIZE, Arm64Layout.virtioMmioSpi(31))));
        Path dtbFile = Files.write(dir.resolve("jvmm.dtb"), dtb);
        Path disk = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(8 * MiB);
        }

        Path log = dir.resolve("console.log");
        Process p = new ProcessBuilder(qemu.toString(), "-M", "virt,gic-version=3", "-cpu", "max", "-accel", "tcg",
                "-smp", "2", "-m", "512", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
                "-dtb", dtbFile.toString(), "-kernel", kit.kernel().toString(), "-initrd", kit.initramfs().toString(),
                "-drive", "if=none,id=d,format=raw,file=" + disk,
                "-device", "virtio-blk-device,drive=d")
                .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        boolean done = p.waitFor(8, TimeUnit.MINUTES);
        if (!done) p.destroyForcibly().waitFor();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done, "QEMU did not power off within 8 minutes:\n" + tail(out));
        assertEquals(0, p.exitValue(), tail(out));

        assertContains(out, "Machine model: jvmm arm64");                   // our tree, not QEMU's
        assertContains(out, "earlycon: pl11 at MMIO 0x0000000009000000");  // stdout-path → PL011
        assertContains(out, "psci: PSCIv1");                                 // the psci node, method hvc
        assertContains(out, "GICv3: CPU0: found redistributor 0 region 0:0x00000000080a0000");
        assertContains(out, "GICv3: CPU1: found redistributor 1 region 0:0x00000000080c0000");
        assertContains(out, "smp: Brought up 1 node, 2 CPUs");              // CPU_ON with the tree's MPIDRs
        assertContains(out, "arch_timer: cp15 timer(s) running");
        assertContains(out, "ttyAMA0 at MMIO 0x9000000");
        assertContains(out, "virtio_blk virtio0: [vda] 16384 512-byte logical blocks");
        assertContains(out, "JVMM-GUEST-UP cpus=2");
    }

    private static void assertContains(String out, String expected) {
        assertTrue(out.contains(expected), "console lacks \"" + expected + "\":\n" + tail(out));
    }

    private static String tail(String s) {
        return s.length() <= 6000 ? s : "…" + s.substring(s.length() - 6000);
    }

}
