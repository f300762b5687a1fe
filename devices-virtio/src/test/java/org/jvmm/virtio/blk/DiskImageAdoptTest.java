package org.jvmm.virtio.blk;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DiskImage#adopt}, which a blk helper uses on the descriptor it was handed: a descriptor of the open
 * file description that holds the image's lock is served as it is (the lock is already its own); an unlocked
 * descriptor takes the lock, or is refused if another user holds it; a descriptor not open for what was asked
 * is refused with a sentence. In each refusal the descriptor is closed.
 */
class DiskImageAdoptTest {

    @TempDir Path dir;

    /** A second descriptor of the same open file description, as SCM_RIGHTS gives the helper. */
    private static int dup(int fd) {
        return LinuxLibc.fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 0);
    }

    private static boolean open(int fd) {
        try {
            LinuxLibc.fcntl(fd, LinuxLibc.F_GETFD, 0);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Test
    void aDescriptorOfTheLockedOpenFileIsServedAndKeepsTheImageLockedAfterTheFirstCopyCloses() throws Exception {
        byte[] bytes = new byte[8192];
        bytes[4096] = 42;
        Path image = Files.write(dir.resolve("a.img"), bytes);
        DiskImage jvmm = DiskImage.open(image, false);
        DiskImage helper = DiskImage.adopt(dup(jvmm.descriptor()), image, false);
        assertEquals(8192, helper.size());
        jvmm.close(); // jvmm's copy gone: the helper's copy still holds the lock
        assertThrows(ConfigurationException.class, () -> DiskImage.open(image, true));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sector = a.allocate(512);
            helper.read(4096, sector);
            assertEquals(42, sector.get(ValueLayout.JAVA_BYTE, 0));
            sector.set(ValueLayout.JAVA_BYTE, 0, (byte) 7);
            helper.write(0, sector);
            helper.flush();
        }
        helper.close();
        assertEquals(7, Files.readAllBytes(image)[0]);
        DiskImage.open(image, false).close(); // both copies closed: free
    }

    @Test
    void anUnlockedDescriptorTakesTheLockOrIsRefusedIfAnotherUserHoldsIt() throws Exception {
        Path image = Files.write(dir.resolve("b.img"), new byte[4096]);
        int fd = LinuxLibc.open(image.toString(), LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
        try (DiskImage adopted = DiskImage.adopt(fd, image, false)) {
            assertThrows(ConfigurationException.class, () -> DiskImage.open(image, true));
        }
        try (DiskImage holder = DiskImage.open(image, true)) {
            int other = LinuxLibc.open(image.toString(), LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
            ConfigurationException e = assertThrows(ConfigurationException.class, () -> DiskImage.adopt(other, image, false));
            assertEquals("Disk image " + image + " is locked by another VM or disk: stop the other user, or pass ,ro if every user only reads it.",
                    e.getMessage());
            assertFalse(open(other), "a refused descriptor is closed");
        }
    }

    @Test
    void aDescriptorNotOpenForWhatIsAskedIsRefusedWithASentence() throws Exception {
        Path image = Files.write(dir.resolve("c.img"), new byte[4096]);
        int readOnly = LinuxLibc.open(image.toString(), LinuxLibc.O_RDONLY | LinuxLibc.O_CLOEXEC, 0);
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> DiskImage.adopt(readOnly, image, false));
        assertEquals("Disk descriptor " + readOnly + " for " + image + " is open read-only: pass --ro or hand over a read-write descriptor.",
                e.getMessage());
        assertFalse(open(readOnly));
        int writeOnly = LinuxLibc.open(image.toString(), LinuxLibc.O_WRONLY | LinuxLibc.O_CLOEXEC, 0);
        e = assertThrows(ConfigurationException.class, () -> DiskImage.adopt(writeOnly, image, true));
        assertTrue(e.getMessage().endsWith("is open write-only: hand over a descriptor open for reading."), e.getMessage());
        DiskImage.open(image, false).close(); // nothing was left locked
    }
}
