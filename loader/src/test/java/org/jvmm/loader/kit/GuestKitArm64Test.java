package org.jvmm.loader.kit;

import org.jvmm.core.ConfigurationException;
import org.jvmm.loader.Arm64Image;
import org.jvmm.loader.KernelImage;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The arm64 kit from Debian's arm64 packages (APT must know the arm64 architecture:
 * {@code dpkg --add-architecture arm64}), booted under qemu-system-aarch64 {@code -M virt} with TCG. Its
 * busybox cannot run on an x86 build host, so /init installs the applet links at boot.
 */
class GuestKitArm64Test {

    @Test
    @Timeout(300)
    void buildsAnArm64KitThatBootsUnderQemu() throws Exception {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", "..")).toAbsolutePath().normalize();
        Path out = Path.of("target", "guest-kit-test-arm64").toAbsolutePath();
        GuestKit.Kit kit;
        try {
            kit = GuestKit.build(new GuestKit.Options(GuestKit.Arch.ARM64, out, root.resolve(".guest/debs"), List.of()));
        } catch (ConfigurationException e) {
            if (Boolean.getBoolean("jvmm.requireAll")) throw e;
            Assumptions.abort("no arm64 Debian packages for the guest kit: " + e.getMessage());
            return;
        }
        assertInstanceOf(Arm64Image.class, KernelImage.read(kit.kernel()));
        byte[] cpio;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(kit.initramfs()))) {
            cpio = in.readAllBytes();
        }
        String init = GuestKitTest.run(cpio, "cpio", "-i", "--quiet", "--to-stdout", "init");
        assertTrue(init.contains("/bin/busybox --install -s\n"), init);

        QemuBoot boot = QemuBoot.run(List.of("qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57", "-accel", "tcg",
                "-kernel", kit.kernel().toString(), "-initrd", kit.initramfs().toString(),
                "-append", "console=ttyAMA0 jvmm.halt=poweroff", "-nographic", "-no-reboot", "-m", "512", "-smp", "2"), null);
        Matcher m = boot.marker();
        assertEquals("2", m.group(1), boot.log());
        assertEquals(kit.kernelVersion(), m.group(3));
        assertTrue(kit.kernelVersion().endsWith("arm64"), kit.kernelVersion());
        assertEquals(0, boot.status(), boot.log());
        assertFalse(boot.log().contains("jvmm init: insmod"), "a module failed to load:\n" + boot.log());
    }
}
