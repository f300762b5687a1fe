package org.jvmm.virtio.blk;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The image lock between processes: what two VMs on one host see. */
@Timeout(120)
class DiskImageLockTest {

    @TempDir Path dir;

    /** Starts HoldLock (a single-file Java program) in a new JVM on {@code image}; returns it after its first line. */
    private static Process holdLock(Path image, String[] firstLine) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path source = Path.of(DiskImageLockTest.class.getResource("/HoldLock.java").toURI());
        Process p = new ProcessBuilder(java.toString(), source.toString(), image.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        firstLine[0] = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        return p;
    }

    private static void release(Process p) throws Exception {
        p.getOutputStream().close();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    }

    @Test
    void anImageAnotherProcessHoldsCannotBeOpenedWritable() throws Exception {
        Path image = Files.write(dir.resolve("shared.img"), new byte[4096]);
        String[] line = new String[1];
        Process other = holdLock(image, line);
        try {
            assertEquals("locked", line[0]);
            ConfigurationException e = assertThrows(ConfigurationException.class, () -> DiskImage.open(image, false));
            assertEquals("Disk image " + image + " is locked by another process: stop the other VM or pass ,ro.", e.getMessage());
            try (DiskImage ro = DiskImage.open(image, true)) {
                assertTrue(ro.readOnly(), "read-only use stays possible");
            }
        } finally {
            release(other);
        }
        DiskImage.open(image, false).close();
    }

    @Test
    void anOpenWritableImageIsLockedForOtherProcesses() throws Exception {
        Path image = Files.write(dir.resolve("mine.img"), new byte[4096]);
        try (DiskImage mine = DiskImage.open(image, false)) {
            assertFalse(mine.readOnly());
            String[] line = new String[1];
            Process other = holdLock(image, line);
            release(other);
            assertEquals("busy", line[0]);
        }
    }
}
