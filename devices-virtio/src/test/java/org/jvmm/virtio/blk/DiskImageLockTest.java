package org.jvmm.virtio.blk;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image lock: two opens in this process conflict as two VMs would, a failed open leaves the holder's
 * lock in place, readers share, a writer excludes everyone; and the same between processes, where the
 * other process is a second JVM opening the image with {@link DiskImage} (a second jvmm) or taking a POSIX
 * record lock (another fcntl-locking VMM).
 */
@Timeout(120)
class DiskImageLockTest {

    @TempDir Path dir;

    private static String lockedForWriting(Path image) {
        return "Disk image " + image + " is locked by another VM or disk: stop the other user, or pass ,ro if every user only reads it.";
    }

    private static String lockedForReading(Path image) {
        return "Disk image " + image + " is locked by a VM or disk that writes it: stop that VM before reading the image.";
    }

    private Path image(String name) throws Exception {
        return Files.write(dir.resolve(name), new byte[4096]);
    }

    // ------------------------------------------------------------------ in one process

    @Test
    void aSecondOpenInThisProcessFailsAndLeavesTheFirstLockInPlace() throws Exception {
        Path image = image("one.img");
        try (DiskImage first = DiskImage.open(image, false)) {
            assertEquals(lockedForWriting(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, false)).getMessage());
            assertEquals(lockedForReading(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, true)).getMessage());
            // Each failed attempt opened and closed descriptors of the same file; a per-process POSIX lock
            // would be gone now. Another process must still find the image taken, and so must this one.
            assertEquals("CONFIG " + lockedForWriting(image), otherJvm(image, false).release());
            assertThrows(ConfigurationException.class, () -> DiskImage.open(image, false));
            assertFalse(first.readOnly());
        }
        DiskImage.open(image, false).close();
    }

    @Test
    void readOnlyOpensShareTheImageAndKeepAWriterOut() throws Exception {
        Path image = image("shared.img");
        DiskImage b;
        try (DiskImage a = DiskImage.open(image, true)) {
            b = DiskImage.open(image, true);
            assertTrue(a.readOnly() && b.readOnly());
            assertEquals(lockedForWriting(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, false)).getMessage());
        }
        try (b) {
            // b's shared lock is its own: closing a did not drop it
            assertEquals(lockedForWriting(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, false)).getMessage());
        }
        DiskImage.open(image, false).close();
    }

    // ------------------------------------------------------------------ between processes

    @Test
    void anImageAnotherJvmmWritesCanBeOpenedNeitherWayHere() throws Exception {
        Path image = image("theirs.img");
        Holder other = otherJvm(image, false);
        try {
            assertEquals("HELD", other.firstLine);
            assertEquals(lockedForWriting(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, false)).getMessage());
            assertEquals(lockedForReading(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, true)).getMessage());
        } finally {
            other.release();
        }
        DiskImage.open(image, false).close();
    }

    @Test
    void anImageAnotherJvmmReadsCanBeSharedReadOnly() throws Exception {
        Path image = image("read.img");
        Holder other = otherJvm(image, true);
        try {
            assertEquals("HELD", other.firstLine);
            try (DiskImage ro = DiskImage.open(image, true)) {
                assertTrue(ro.readOnly());
            }
            assertEquals(lockedForWriting(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, false)).getMessage());
        } finally {
            other.release();
        }
    }

    @Test
    void anImageThisProcessWritesIsBusyForAnotherJvmmAndForRecordLocks() throws Exception {
        Path image = image("mine.img");
        try (DiskImage mine = DiskImage.open(image, false)) {
            assertFalse(mine.readOnly());
            assertEquals("CONFIG " + lockedForReading(image), otherJvm(image, true).release());
            assertEquals("busy", recordLocker(image).release());
        }
        assertEquals("HELD", otherJvm(image, false).release(), "closing released the lock");
    }

    @Test
    void aPosixRecordLockOfAnotherProcessKeepsThisOneOut() throws Exception {
        Path image = image("posix.img");
        Holder other = recordLocker(image);
        try {
            assertEquals("locked", other.firstLine);
            assertEquals(lockedForWriting(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, false)).getMessage());
            assertEquals(lockedForReading(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, true)).getMessage());
        } finally {
            other.release();
        }
        DiskImage.open(image, false).close();
    }

    // ------------------------------------------------------------------ the other process

    /** A child process that has said its first line and holds whatever it took until its stdin closes. */
    private record Holder(Process process, String firstLine) {
        /** Ends the hold; returns the first line. */
        String release() throws Exception {
            process.getOutputStream().close();
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the other process did not end");
            return firstLine;
        }
    }

    private static Holder start(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        return new Holder(p, new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine());
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** A second JVM opening {@code image} with DiskImage: says HELD or CONFIG and the sentence. */
    private static Holder otherJvm(Path image, boolean readOnly) throws Exception {
        return start(List.of(java(), "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                OpenImage.class.getName(), image.toString(), readOnly ? "ro" : "rw"));
    }

    /** HoldLock (a single-file program): an exclusive POSIX record lock, says "locked" or "busy". */
    private static Holder recordLocker(Path image) throws Exception {
        Path source = Path.of(DiskImageLockTest.class.getResource("/HoldLock.java").toURI());
        return start(List.of(java(), source.toString(), image.toString()));
    }

    /** Main of the second JVM. */
    public static final class OpenImage {
        public static void main(String[] args) throws Exception {
            DiskImage image;
            try {
                image = DiskImage.open(Path.of(args[0]), args[1].equals("ro"));
            } catch (ConfigurationException e) {
                System.out.println("CONFIG " + e.getMessage());
                return;
            }
            try (image) {
                System.out.println("HELD");
                System.out.flush();
                while (System.in.read() >= 0) { /* hold until the parent closes our stdin */ }
            }
        }
    }
}
