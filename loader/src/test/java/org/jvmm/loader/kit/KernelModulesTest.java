package org.jvmm.loader.kit;

import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** KernelModules on a hand-made kernel package tree: config, modules.dep and module files written here. */
class KernelModulesTest {

    static final String V = "6.9.0-test";

    /** A tree where virtio_mmio is built in, blk is a module, and ext4 (compressed with xz) needs jbd2 and crc16. */
    static Path tree(Path root, String config) throws Exception {
        Path mods = Files.createDirectories(root.resolve("lib/modules/" + V));
        Files.createDirectories(root.resolve("boot"));
        Files.writeString(root.resolve("boot/config-" + V), config);
        Files.writeString(mods.resolve("modules.dep"), """
                kernel/drivers/virtio/virtio_ring.ko:
                kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
                kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
                kernel/lib/crc16.ko:
                kernel/fs/jbd2/jbd2.ko:
                kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko
                kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
                """);
        for (String ko : List.of("drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko", "drivers/block/virtio_blk.ko",
                "lib/crc16.ko", "fs/jbd2/jbd2.ko", "drivers/char/hw_random/virtio-rng.ko")) {
            Path f = mods.resolve("kernel/" + ko);
            Files.createDirectories(f.getParent());
            Files.writeString(f, "\u007fELF " + ko);
        }
        Path ext4 = mods.resolve("kernel/fs/ext4/ext4.ko");
        Files.createDirectories(ext4.getParent());
        Files.writeString(ext4, "\u007fELF fs/ext4/ext4.ko");
        Process xz = new ProcessBuilder("xz", ext4.toString()).inheritIO().start(); // leaves ext4.ko.xz
        assertTrue(xz.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, xz.exitValue());
        return root;
    }

    static final String CONFIG = """
            CONFIG_VIRTIO=m
            CONFIG_VIRTIO_MMIO=y
            CONFIG_VIRTIO_BLK=m
            CONFIG_EXT4_FS=m
            # CONFIG_VIRTIO_NET is not set
            CONFIG_HW_RANDOM_VIRTIO=m
            """;

    @Test
    void builtInDriversAreSkippedAndModulesComeAfterTheirDependencies(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Tools.find("xz").isPresent() || Boolean.getBoolean("jvmm.requireAll"), "xz is not installed");
        KernelModules m = KernelModules.resolve(tree(dir, CONFIG), List.of(
                new KernelModules.Wanted("virtio_mmio", "CONFIG_VIRTIO_MMIO"),
                new KernelModules.Wanted("virtio_blk", "CONFIG_VIRTIO_BLK"),
                new KernelModules.Wanted("ext4", "CONFIG_EXT4_FS"),
                new KernelModules.Wanted("virtio_rng", "CONFIG_HW_RANDOM_VIRTIO")));
        assertEquals(V, m.kernelVersion());
        assertEquals(List.of("virtio_mmio"), m.builtIn());
        assertEquals(List.of("virtio_ring", "virtio", "virtio_blk", "crc16", "jbd2", "ext4", "virtio_rng"), m.moduleNames());
        KernelModules.Module ext4 = m.modules().get(5);
        assertEquals("kernel/fs/ext4/ext4.ko", ext4.path());
        assertEquals("\u007fELF fs/ext4/ext4.ko", new String(KernelModules.contents(ext4), StandardCharsets.UTF_8));
        assertEquals("kernel/drivers/char/hw_random/virtio-rng.ko", m.modules().get(6).path());
        assertEquals("""
                kernel/drivers/virtio/virtio_ring.ko:
                kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
                kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
                kernel/lib/crc16.ko:
                kernel/fs/jbd2/jbd2.ko:
                kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/lib/crc16.ko
                kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
                """, m.modulesDep());
    }

    @Test
    void aDriverThatIsNeitherBuiltInNorAModuleIsOneSentence(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Tools.find("xz").isPresent() || Boolean.getBoolean("jvmm.requireAll"), "xz is not installed");
        var e = assertThrows(ConfigurationException.class, () -> KernelModules.resolve(tree(dir, CONFIG),
                List.of(new KernelModules.Wanted("virtio_net", "CONFIG_VIRTIO_NET"))));
        assertEquals("The kernel " + V + " has no virtio_net driver (CONFIG_VIRTIO_NET is not set); use a kernel built with it.",
                e.getMessage());
    }

    @Test
    void aModuleMissingFromModulesDepIsReported(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Tools.find("xz").isPresent() || Boolean.getBoolean("jvmm.requireAll"), "xz is not installed");
        var e = assertThrows(ConfigurationException.class, () -> KernelModules.resolve(tree(dir, CONFIG + "CONFIG_VIRTIO_CONSOLE=m\n"),
                List.of(new KernelModules.Wanted("virtio_console", "CONFIG_VIRTIO_CONSOLE"))));
        assertTrue(e.getMessage().contains("modules.dep does not list it"), e.getMessage());
    }

    @Test
    void aCycleOrAHostilePathInModulesDepIsReported(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Tools.find("xz").isPresent() || Boolean.getBoolean("jvmm.requireAll"), "xz is not installed");
        Path root = tree(dir, CONFIG);
        Path dep = root.resolve("lib/modules/" + V + "/modules.dep");
        Files.writeString(dep, "kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\nkernel/drivers/block/virtio_blk.ko: kernel/a.ko\n");
        var cycle = assertThrows(ConfigurationException.class, () -> KernelModules.resolve(root,
                List.of(new KernelModules.Wanted("virtio_blk", "CONFIG_VIRTIO_BLK"))));
        assertTrue(cycle.getMessage().contains("cycle"), cycle.getMessage());
        Files.writeString(dep, "kernel/../../etc/passwd.ko:\n");
        assertThrows(ConfigurationException.class, () -> KernelModules.resolve(root,
                List.of(new KernelModules.Wanted("virtio_blk", "CONFIG_VIRTIO_BLK"))));
    }

    @Test
    void aTreeWithoutModulesIsNotAKernelPackage(@TempDir Path dir) throws IOException {
        var e = assertThrows(ConfigurationException.class, () -> KernelModules.resolve(dir, KernelModules.GUEST_DRIVERS));
        assertTrue(e.getMessage().contains("lib/modules"), e.getMessage());
    }
}
