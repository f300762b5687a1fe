package org.jvmm.sandbox;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.ConfigurationException;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.blk.DiskImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk image's lock travels with its descriptor: jvmm opens and locks the image when the disk is
 * added, hands that very descriptor to the blk helper and keeps its own copy, so neither another
 * {@link DiskImage} in this process nor a second JVM (a second jvmm) can take the image at any point of
 * the helper's life: before the helper has even connected, while it serves, after it was killed; only
 * closing the device frees it. The helper holds the same open file description (its descriptor carries
 * the OFD lock in /proc) and no second open of the image.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DiskLockTravelsTest {

    @TempDir Path dir;

    private static String lockedForWriting(Path image) {
        return "Disk image " + image + " is locked by another VM or disk: stop the other user, or pass ,ro if every user only reads it.";
    }

    @Test
    void noOtherVmTakesTheImageBeforeWhileOrAfterItsHelperRuns() throws Exception {
        Path image = Files.write(dir.resolve("disk.img"), new byte[64 * 512]);
        List<String> lost = Collections.synchronizedList(new ArrayList<>());
        SandboxedDevices devices = new SandboxedDevices(Sandbox.PROCESS, lost::add);
        devices.block(image, false);
        List<VirtioDevice> opened = List.of();
        try {
            // The window before the helper starts: it has been launched but has no descriptor yet.
            assertTakenHere(image);
            assertEquals("CONFIG " + lockedForWriting(image), secondJvm(image), "a second jvmm while the helper starts");

            opened = devices.open();
            ProcessHandle helper = blkHelper();
            assertTakenHere(image);
            assertEquals("CONFIG " + lockedForWriting(image), secondJvm(image), "a second jvmm while the helper serves");
            List<Path> helperFds = descriptorsOf(helper, image);
            assertEquals(1, helperFds.size(), "the helper has the image open once: the descriptor it was handed " + helperFds);
            String fdinfo = Files.readString(Path.of("/proc/" + helper.pid() + "/fdinfo/" + helperFds.getFirst().getFileName()));
            assertTrue(fdinfo.contains("OFDLCK") && fdinfo.contains("WRITE"),
                    "the helper's descriptor carries jvmm's exclusive OFD lock:\n" + fdinfo);

            helper.destroyForcibly();
            assertTrue(helper.onExit().get(30, TimeUnit.SECONDS) != null);
            assertTakenHere(image);
            assertEquals("CONFIG " + lockedForWriting(image), secondJvm(image), "a second jvmm after the helper died");
        } finally {
            if (opened.isEmpty()) devices.discard();
            for (VirtioDevice d : opened) d.close();
        }
        DiskImage.open(image, false).close(); // closing the device released the lock
        assertEquals("HELD", secondJvm(image));
    }

    private static void assertTakenHere(Path image) {
        assertEquals(lockedForWriting(image), assertThrows(ConfigurationException.class, () -> DiskImage.open(image, false)).getMessage());
        assertThrows(ConfigurationException.class, () -> DiskImage.open(image, true));
    }

    /** This JVM's one blk helper. */
    private static ProcessHandle blkHelper() {
        List<ProcessHandle> helpers = ProcessHandle.current().children()
                .filter(p -> p.info().arguments().map(a -> List.of(a).contains(Helper.class.getName()) && List.of(a).contains("blk")).orElse(false))
                .toList();
        assertEquals(1, helpers.size(), "one blk helper: " + helpers);
        return helpers.getFirst();
    }

    /** The descriptors of {@code process} that have {@code image} open. */
    private static List<Path> descriptorsOf(ProcessHandle process, Path image) throws IOException {
        List<Path> fds = new ArrayList<>();
        try (var links = Files.list(Path.of("/proc/" + process.pid() + "/fd"))) {
            for (Path link : links.toList()) {
                try {
                    if (Files.readSymbolicLink(link).equals(image.toRealPath())) fds.add(link);
                } catch (IOException gone) {
                    // a descriptor closed while listing
                }
            }
        }
        return fds;
    }

    /** A second JVM opening the image for writing with DiskImage, as a second jvmm would: "HELD" or "CONFIG sentence". */
    private static String secondJvm(Path image) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                OpenImage.class.getName(), image.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the second JVM did not end");
        return out;
    }

    /** Main of the second JVM: opens the image read-write and closes it again. */
    public static final class OpenImage {
        public static void main(String[] args) {
            try {
                DiskImage.open(Path.of(args[0]), false).close();
                System.out.println("HELD");
            } catch (ConfigurationException e) {
                System.out.println("CONFIG " + e.getMessage());
            }
        }
    }
}
