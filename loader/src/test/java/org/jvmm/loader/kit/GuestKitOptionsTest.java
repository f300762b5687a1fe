package org.jvmm.loader.kit;

import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The guest-kit command line and its one-sentence failures, without building anything. */
class GuestKitOptionsTest {

    @Test
    void defaultsLieUnderTheRepositoryRoot() {
        String old = System.getProperty("jvmm.repoRoot");
        System.setProperty("jvmm.repoRoot", "/repo");
        try {
            GuestKit.Options o = GuestKit.parse(new String[0]);
            assertEquals(GuestKit.Arch.X86_64, o.arch());
            assertEquals(Path.of("/repo/.guest/x86_64"), o.out());
            assertEquals(Path.of("/repo/.guest/debs"), o.cache());
            assertEquals(List.of(), o.debs());
            assertEquals(Path.of("/repo/.guest/arm64"), GuestKit.parse(new String[]{"--arch", "arm64"}).out());
        } finally {
            if (old == null) System.clearProperty("jvmm.repoRoot"); else System.setProperty("jvmm.repoRoot", old);
        }
    }

    @Test
    void everyOptionIsTaken() {
        GuestKit.Options o = GuestKit.parse(new String[]{"--arch", "aarch64", "--out", "k", "--cache", "c",
                "--deb", "a.deb", "--deb", "b.deb"});
        assertEquals(GuestKit.Arch.ARM64, o.arch());
        assertEquals(Path.of("k"), o.out());
        assertEquals(Path.of("c"), o.cache());
        assertEquals(List.of(Path.of("a.deb"), Path.of("b.deb")), o.debs());
    }

    @Test
    void badArgumentsAreOneSentence() {
        assertEquals("Unknown argument \"--kernel\"; use --arch, --out, --cache or --deb.",
                assertThrows(ConfigurationException.class, () -> GuestKit.parse(new String[]{"--kernel", "x"})).getMessage());
        assertEquals("Unknown guest architecture \"riscv64\"; pass --arch x86_64 or --arch arm64.",
                assertThrows(ConfigurationException.class, () -> GuestKit.parse(new String[]{"--arch", "riscv64"})).getMessage());
        assertTrue(assertThrows(ConfigurationException.class, () -> GuestKit.parse(new String[]{"--deb"}))
                .getMessage().startsWith("--deb needs a value"));
    }

    @Test
    void aFileThatIsNotADebianPackageIsOneSentence(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Tools.find("dpkg-deb").isPresent() || Boolean.getBoolean("jvmm.requireAll"),
                "dpkg-deb is not installed");
        Path notDeb = Files.writeString(dir.resolve("kernel.deb"), "not an ar archive");
        var e = assertThrows(ConfigurationException.class, () -> GuestKit.build(new GuestKit.Options(
                GuestKit.Arch.X86_64, dir.resolve("out"), dir.resolve("cache"), List.of(notDeb))));
        assertEquals(notDeb + " is not a Debian package (dpkg-deb cannot read its control fields); pass a .deb file"
                + " such as one from apt-get download.", e.getMessage());
    }

    @Test
    void anAbsentKitIsOneSentence(@TempDir Path dir) {
        assertEquals("There is no guest kit in " + dir + "; build one with bin/guest-kit.",
                assertThrows(ConfigurationException.class, () -> GuestKit.load(dir)).getMessage());
    }
}
