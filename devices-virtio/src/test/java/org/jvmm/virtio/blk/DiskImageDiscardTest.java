package org.jvmm.virtio.blk;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DISCARD on Linux punches a hole: the range reads as zeroes, the space is freed, the size stays. */
class DiskImageDiscardTest {

    @TempDir Path dir;

    /** Allocated 512-byte blocks, as stat(1) reports them (not from the code under test). */
    static long blocks(Path file) throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return Long.parseLong(out);
    }

    @Test
    void discardFreesTheRangeAndItReadsAsZeroes() throws Exception {
        byte[] data = new byte[1 << 20];
        Arrays.fill(data, (byte) 0x6b);
        Path file = Files.write(dir.resolve("disk.img"), data);
        long before = blocks(file);
        try (DiskImage image = DiskImage.open(file, false)) {
            image.discard(256 * 1024, 512 * 1024);
        }
        assertEquals(data.length, Files.size(file), "the size is kept");
        assertTrue(blocks(file) <= before - 512 * 1024 / 512, "blocks before " + before + ", after " + blocks(file));
        byte[] after = Files.readAllBytes(file);
        for (int i = 0; i < after.length; i++) {
            byte expected = i >= 256 * 1024 && i < 768 * 1024 ? 0 : (byte) 0x6b;
            if (after[i] != expected) fail("byte " + i + " is " + after[i]);
        }
    }
}
