package org.jvmm.virtio.blk;

import static org.jvmm.virtio.blk.VirtioBlock.*;
import static org.jvmm.virtio.DeviceStatus.*;
import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;
import static org.jvmm.virtio.queue.SplitQueue.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.SysException;
import org.jvmm.virtio.VirtioFeatures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Whole requests through the virtio-mmio transport, the queue worker and a real image file. */
@Timeout(60)
class VirtioBlockTest {

    static final int SECTORS = 16;
    static final long ALL = VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(F_FLUSH)
            | VirtioFeatures.bit(F_DISCARD) | VirtioFeatures.bit(F_WRITE_ZEROES) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX);

    @TempDir Path dir;

    Path image(byte fill) throws IOException {
        byte[] b = new byte[SECTORS * SECTOR_SIZE];
        Arrays.fill(b, fill);
        Path p = dir.resolve("disk.img");
        Files.write(p, b);
        return p;
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (i * 31 + seed);
        return b;
    }

    @Test
    void writesFlushesAndReadsBackAcrossSegments() throws Exception {
        Path p = image((byte) 0);
        try (BlockDriver d = new BlockDriver(new VirtioBlock(DiskImage.open(p, false), "serial-1"))) {
            d.start(ALL);
            byte[] data = pattern(3 * SECTOR_SIZE, 7);
            BlockDriver.Reply w = d.request(T_OUT, 2, data, 0, 3);
            assertEquals(S_OK, w.status());
            assertEquals(1, w.usedLength(), "a write only writes the status byte");
            assertEquals(S_OK, d.request(T_FLUSH, 0, new byte[0], 0, 0).status());
            byte[] file = Files.readAllBytes(p);
            assertArrayEquals(data, Arrays.copyOfRange(file, 2 * SECTOR_SIZE, 5 * SECTOR_SIZE));
            assertEquals(0, file[2 * SECTOR_SIZE - 1]);
            assertEquals(0, file[5 * SECTOR_SIZE]);
            BlockDriver.Reply r = d.request(T_IN, 2, null, 3 * SECTOR_SIZE, 2);
            assertEquals(S_OK, r.status());
            assertArrayEquals(data, r.data());
            assertEquals(3 * SECTOR_SIZE + 1, r.usedLength());
        }
    }

    @Test
    void sectorsPastTheEndAreIoErrorsAndNothingIsWritten() throws Exception {
        Path p = image((byte) 0x33);
        byte[] before = Files.readAllBytes(p);
        try (BlockDriver d = new BlockDriver(new VirtioBlock(DiskImage.open(p, false)))) {
            d.start(ALL);
            assertEquals(S_IOERR, d.request(T_OUT, SECTORS - 1, pattern(2 * SECTOR_SIZE, 1), 0, 1).status());
            assertEquals(S_IOERR, d.request(T_OUT, SECTORS, pattern(SECTOR_SIZE, 1), 0, 1).status());
            assertEquals(S_IOERR, d.request(T_OUT, Long.MAX_VALUE / 256, pattern(SECTOR_SIZE, 1), 0, 1).status());
            assertEquals(S_IOERR, d.request(T_OUT, -1, pattern(SECTOR_SIZE, 1), 0, 1).status());
            assertEquals(S_IOERR, d.request(T_OUT, 0, pattern(100, 1), 0, 1).status(), "not whole sectors");
            assertEquals(S_IOERR, d.request(T_IN, SECTORS - 1, null, 2 * SECTOR_SIZE, 1).status());
            assertEquals(S_OK, d.request(T_IN, SECTORS - 1, null, SECTOR_SIZE, 1).status(), "the last sector is fine");
        }
        assertArrayEquals(before, Files.readAllBytes(p));
    }

    @Test
    void readOnlyDisksRefuseWritesAndSaySo() throws Exception {
        Path p = image((byte) 0x44);
        byte[] before = Files.readAllBytes(p);
        try (BlockDriver d = new BlockDriver(new VirtioBlock(DiskImage.open(p, true)))) {
            long offered = d.start(ALL);
            assertTrue(VirtioFeatures.has(offered, F_RO));
            assertFalse(VirtioFeatures.has(offered, F_DISCARD));
            assertEquals(S_IOERR, d.request(T_OUT, 0, pattern(SECTOR_SIZE, 1), 0, 1).status());
            assertEquals(S_OK, d.request(T_FLUSH, 0, new byte[0], 0, 0).status());
            assertEquals(S_OK, d.request(T_IN, 0, null, SECTOR_SIZE, 1).status());
        }
        assertArrayEquals(before, Files.readAllBytes(p));
    }

    @Test
    void discardIsOfferedOnlyWhereTheHostCanDeallocateWhileWriteZeroesAlwaysIs() throws Exception {
        var noHoles = new DiskImageIoProperties.ScriptedFile(new byte[SECTORS * SECTOR_SIZE], List.of()) {
            @Override public boolean canPunchHoles() { return false; }
        };
        // Not closed: the scripted image's descriptor number is not this process's to close.
        long macOs = new VirtioBlock(DiskImage.onDescriptor(3, Path.of("mac.img"), false, SECTORS * SECTOR_SIZE, noHoles)).features();
        assertTrue(VirtioFeatures.has(macOs, F_WRITE_ZEROES));
        assertFalse(VirtioFeatures.has(macOs, F_DISCARD));
        try (VirtioBlock real = new VirtioBlock(DiskImage.open(image((byte) 0), false))) {
            assertTrue(VirtioFeatures.has(real.features(), F_WRITE_ZEROES));
            assertEquals(!Posix.DARWIN, VirtioFeatures.has(real.features(), F_DISCARD), "Linux punches holes, macOS cannot here");
        }
    }

    @Test
    void getIdAnswersTwentyPaddedBytes() throws Exception {
        try (BlockDriver d = new BlockDriver(new VirtioBlock(DiskImage.open(image((byte) 0), false), "jvmm-disk"))) {
            d.start(ALL);
            BlockDriver.Reply r = d.request(T_GET_ID, 0, null, 20, 1);
            assertEquals(S_OK, r.status());
            byte[] expected = Arrays.copyOf("jvmm-disk".getBytes(), 20);
            assertArrayEquals(expected, r.data());
        }
    }

    static byte[] segment(long sector, int sectors, int flags) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(sector).putInt(sectors).putInt(flags).array();
    }

    static byte[] concat(byte[]... parts) {
        ByteBuffer b = ByteBuffer.allocate(Arrays.stream(parts).mapToInt(x -> x.length).sum());
        for (byte[] p : parts) b.put(p);
        return b.array();
    }

    @Test
    void writeZeroesAndDiscardZeroTheirRangesOnly() throws Exception {
        Path p = image((byte) 0x77);
        try (BlockDriver d = new BlockDriver(new VirtioBlock(DiskImage.open(p, false)))) {
            d.start(ALL);
            assertEquals(S_OK, d.request(T_WRITE_ZEROES, 0, concat(segment(1, 2, 0), segment(8, 1, SEGMENT_FLAG_UNMAP)), 0, 1).status());
            assertEquals(S_OK, d.request(T_DISCARD, 0, segment(12, 1, 0), 0, 1).status());
            assertEquals(S_UNSUPP, d.request(T_DISCARD, 0, segment(14, 1, SEGMENT_FLAG_UNMAP), 0, 1).status());
            assertEquals(S_UNSUPP, d.request(T_WRITE_ZEROES, 0, segment(14, 1, 0x4), 0, 1).status());
            assertEquals(S_IOERR, d.request(T_WRITE_ZEROES, 0, concat(segment(14, 1, 0), segment(15, 2, 0)), 0, 1).status(),
                    "one bad segment spoils the request");
            assertEquals(S_IOERR, d.request(T_DISCARD, 0, new byte[8], 0, 1).status(), "half a segment");
            assertEquals(S_UNSUPP, d.request(99, 0, new byte[0], 0, 0).status());
        }
        byte[] file = Files.readAllBytes(p);
        for (int s = 0; s < SECTORS; s++) {
            boolean zero = s == 1 || s == 2 || s == 8 || s == 12;
            byte[] sector = Arrays.copyOfRange(file, s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
            byte[] expected = new byte[SECTOR_SIZE];
            Arrays.fill(expected, zero ? 0 : (byte) 0x77);
            assertArrayEquals(expected, sector, "sector " + s);
        }
    }

    @Test
    void discardIsUnsupportedUnlessNegotiated() throws Exception {
        Path p = image((byte) 0x77);
        try (BlockDriver d = new BlockDriver(new VirtioBlock(DiskImage.open(p, false)))) {
            d.start(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
            assertEquals(S_UNSUPP, d.request(T_DISCARD, 0, segment(1, 1, 0), 0, 1).status());
            assertEquals(S_UNSUPP, d.request(T_WRITE_ZEROES, 0, segment(1, 1, 0), 0, 1).status());
        }
        byte[] expected = new byte[SECTORS * SECTOR_SIZE];
        Arrays.fill(expected, (byte) 0x77);
        assertArrayEquals(expected, Files.readAllBytes(p));
    }

    @Test
    void aBrokenRingNeedsAResetAndTheDeviceWorksAfterIt() throws Exception {
        Path p = image((byte) 0);
        try (BlockDriver d = new BlockDriver(new VirtioBlock(DiskImage.open(p, false)))) {
            d.start(ALL);
            d.ring.descriptor(0, BlockDriver.HEADER, 16, VIRTQ_DESC_F_NEXT, 1);
            d.ring.descriptor(1, BlockDriver.HEADER, 16, VIRTQ_DESC_F_NEXT, 0); // a loop
            d.ring.publish(0);
            d.reg(QUEUE_NOTIFY, 0);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while ((d.reg(STATUS) & DEVICE_NEEDS_RESET) == 0) {
                assertTrue(System.nanoTime() < deadline, "the device never noticed the loop");
                Thread.sleep(1);
            }
            assertEquals(INTERRUPT_CONFIG_CHANGE, d.reg(INTERRUPT_STATUS) & INTERRUPT_CONFIG_CHANGE);
            assertTrue(d.irq.level);
            d.start(ALL); // resets first
            assertEquals(0, d.reg(STATUS) & DEVICE_NEEDS_RESET);
            assertEquals(S_OK, d.request(T_OUT, 0, pattern(SECTOR_SIZE, 3), 0, 1).status());
        }
        assertArrayEquals(pattern(SECTOR_SIZE, 3), Arrays.copyOf(Files.readAllBytes(p), SECTOR_SIZE));
    }

    @Test
    void aChainWithoutHeaderOrStatusIsReturnedEmpty() throws Exception {
        try (BlockDriver d = new BlockDriver(new VirtioBlock(DiskImage.open(image((byte) 0), false)))) {
            d.start(ALL);
            d.ring.descriptor(0, BlockDriver.HEADER, 8, VIRTQ_DESC_F_NEXT, 1);
            d.ring.descriptor(1, BlockDriver.STATUS_BYTE, 1, VIRTQ_DESC_F_WRITE, 0);
            d.ring.publish(0);
            d.reg(QUEUE_NOTIFY, 0);
            d.awaitUsed();
            assertEquals(0, d.ring.usedLen(0));
            assertEquals(0, d.reg(STATUS) & DEVICE_NEEDS_RESET, "a bad request is not a broken ring");
        }
    }

    @Test
    void aWritableImageIsLockedAgainstASecondWriter() throws Exception {
        Path p = image((byte) 0);
        try (DiskImage first = DiskImage.open(p, false)) {
            assertFalse(first.readOnly());
            ConfigurationException e = assertThrows(ConfigurationException.class, () -> DiskImage.open(p, false));
            assertEquals("Disk image " + p + " is locked by another VM or disk: stop the other user, or pass ,ro if every user only reads it.",
                    e.getMessage());
            assertThrows(ConfigurationException.class, () -> DiskImage.open(p, true), "a reader would see the disk change under it");
        }
        try (DiskImage again = DiskImage.open(p, false)) {
            assertFalse(again.readOnly(), "closing released the lock");
        }
    }

    @Test
    void aMissingImageIsAConfigurationError() {
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> DiskImage.open(dir.resolve("nope.img"), false));
        assertTrue(e.getMessage().contains("nope.img"), e.getMessage());
    }

    @Test
    void openFailuresAreToldApartByTheErrorsNameOnEitherHost() {
        Path p = Path.of("x.img");
        assertEquals("Disk image x.img is not writable: fix its permissions or pass ,ro.",
                DiskImage.openFailure(p, false, new SysException("open x.img", 13, "EACCES", "Permission denied")).getMessage());
        assertEquals("Disk image x.img is not readable: fix its permissions.",
                DiskImage.openFailure(p, true, new SysException("open x.img", 1, "EPERM", "Operation not permitted")).getMessage());
        assertEquals("Disk image x.img is not writable: fix its permissions or pass ,ro.",
                DiskImage.openFailure(p, false, new SysException("open x.img", 30, "EROFS", "Read-only file system")).getMessage());
        assertEquals("Disk image x.img does not exist: check the --disk path.",
                DiskImage.openFailure(p, false, new SysException("open x.img", 2, "ENOENT", "No such file or directory")).getMessage());
        assertEquals("Disk image x.img cannot be opened (open x.img: Too many open files (EMFILE)): check the --disk path.",
                DiskImage.openFailure(p, false, new SysException("open x.img", 24, "EMFILE", "Too many open files")).getMessage());
    }

    @Test
    void theConfigurationSpaceDescribesTheDisk() throws Exception {
        VirtioBlock b = new VirtioBlock(DiskImage.open(image((byte) 0), false));
        try {
            assertEquals(SECTORS, b.readConfig(0, 4) | b.readConfig(4, 4) << 32);
            assertEquals(QUEUE_SIZE - 2, b.readConfig(12, 4), "seg_max");
            assertEquals(MAX_DISCARD_SECTORS, b.readConfig(36, 4));
            assertEquals(MAX_DISCARD_SEGMENTS, b.readConfig(40, 4));
        } finally {
            b.close();
        }
    }
}
