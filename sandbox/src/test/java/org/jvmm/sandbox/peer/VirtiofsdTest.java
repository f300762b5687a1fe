package org.jvmm.sandbox.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How jvmm finds virtiofsd and spells its options for either of the two programs of that name. */
class VirtiofsdTest {

    @TempDir Path dir;

    @Test
    void theRustVirtiofsdGetsItsLongOptionsAndTheCOneItsDashOOptions() {
        Path socket = Path.of("/run/x/fs.sock"), shared = Path.of("/srv/share");
        assertEquals(List.of("/usr/libexec/virtiofsd", "--socket-path=/run/x/fs.sock", "--shared-dir=/srv/share", "--sandbox=namespace",
                        "--log-level=error"),
                Virtiofsd.arguments(Path.of("/usr/libexec/virtiofsd"), "Usage: virtiofsd [OPTIONS] --shared-dir <SHARED_DIR>", socket, shared));
        assertEquals(List.of("/usr/lib/qemu/virtiofsd", "--socket-path=/run/x/fs.sock", "-o", "source=/srv/share", "-o", "sandbox=namespace",
                        "-o", "log_level=err"),
                Virtiofsd.arguments(Path.of("/usr/lib/qemu/virtiofsd"), "usage: virtiofsd [options]\n    -o source=PATH", socket, shared));
    }

    @Test
    void theFirstExecutablePlaceWinsAndNoneIsOneSentenceSayingWhatToInstall() throws Exception {
        Path plain = Files.writeString(dir.resolve("plain"), "not executable");
        Path tool = Files.writeString(dir.resolve("virtiofsd"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertEquals(tool, Virtiofsd.find(List.of(dir.resolve("missing"), plain, dir, tool)));
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> Virtiofsd.find(List.of(dir.resolve("missing"), plain)));
        assertEquals("--fs needs virtiofsd, which is not installed: apt-get install virtiofsd (Debian 13 and later)"
                + " or qemu-system-common (Debian 12).", e.getMessage());
    }

    @Test
    void aPropertyNamingNoProgramIsOneSentence() {
        String before = System.getProperty("jvmm.virtiofsd");
        System.setProperty("jvmm.virtiofsd", dir.resolve("nope").toString());
        try {
            ConfigurationException e = assertThrows(ConfigurationException.class, Virtiofsd::find);
            assertTrue(e.getMessage().contains("not an executable"), e.getMessage());
        } finally {
            if (before == null) System.clearProperty("jvmm.virtiofsd"); else System.setProperty("jvmm.virtiofsd", before);
        }
    }

    @Test
    void sharingSomethingThatIsNotADirectoryIsOneSentence() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "x");
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> Virtiofsd.start("virtiofsd for t", file));
        assertTrue(e.getMessage().endsWith("check --fs TAG:DIR."), e.getMessage());
    }
}
