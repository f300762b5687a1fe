package org.jvmm.virtio.blk;

import static org.jvmm.virtio.blk.VirtioBlock.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.queue.Buffer;
import org.jvmm.virtio.queue.DescriptorChain;

/**
 * Hostile block requests straight into the request handler: any framing, type, sector, segment list
 * and feature set. The handler never throws, answers a valid status in the last writable byte, never
 * changes the image's size, never writes a read-only image, and changes the image only for a request
 * it answers OK, exactly as the request says.
 */
class BlockRequestProperties {

    static final long BASE = 0x10000, RAM = 0x10000;
    static final int SECTORS = 16, DISK = SECTORS * SECTOR_SIZE;
    static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("jvmm-blk-props");
            DIR.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @Provide
    Arbitrary<Integer> types() {
        return Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.of(T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES)),
                Tuple.of(1, Arbitraries.integers()));
    }

    @Provide
    Arbitrary<Long> sectors() {
        return Arbitraries.frequencyOf(
                Tuple.of(5, Arbitraries.longs().between(0, SECTORS + 2)),
                Tuple.of(1, Arbitraries.of(-1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 55, (1L << 55) - 1)),
                Tuple.of(1, Arbitraries.longs()));
    }

    @Provide
    Arbitrary<List<Integer>> lengths() {
        Arbitrary<Integer> one = Arbitraries.frequencyOf(
                Tuple.of(5, Arbitraries.of(0, 1, 16, 32, 48, 512, 1024)),
                Tuple.of(1, Arbitraries.integers().between(0, 1100)));
        return one.list().ofMaxSize(4);
    }

    @Provide
    Arbitrary<Long> featureSets() {
        return Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(-1L)), Tuple.of(1, Arbitraries.longs()))
                .map(l -> l | org.jvmm.virtio.VirtioFeatures.bit(org.jvmm.virtio.VirtioFeatures.VERSION_1));
    }

    @Property(tries = 10000)
    void hostileRequestsAreAnsweredSafely(@ForAll("types") int type, @ForAll("sectors") long sector,
                                          @ForAll("lengths") List<Integer> readable, @ForAll("lengths") List<Integer> writable,
                                          @ForAll int headerSplit, @ForAll boolean readOnly, @ForAll boolean plausibleSegments, @ForAll boolean separateStatus,
                                          @ForAll("featureSets") long features, @ForAll long seed) throws IOException {
        Random r = new Random(seed);
        byte[] disk = new byte[DISK];
        r.nextBytes(disk);
        Path file = DIR.resolve("disk.img");
        Files.write(file, disk);
        try (GuestRam ram = new GuestRam(BASE, RAM);
             DiskImage image = DiskImage.open(file, readOnly)) {
            GuestMemory m = ram.memory;
            byte[] noise = new byte[(int) RAM];
            r.nextBytes(noise);
            m.write(BASE, noise);
            // The readable stream: a header (whole, split, or short), then payload buffers.
            ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(0, type).putLong(8, sector);
            m.write(BASE, header.array());
            List<Buffer> in = new ArrayList<>();
            int split = Math.floorMod(headerSplit, 20);
            if (split < 16 && split > 0) {
                in.add(new Buffer(BASE, split));
                in.add(new Buffer(BASE + split, 16 - split));
            } else if (split == 0) {
                in.add(new Buffer(BASE, 16));
            } else {
                in.add(new Buffer(BASE, split - 16)); // 1..3 bytes: too short
            }
            long at = BASE + 0x100;
            if (plausibleSegments && (type == T_DISCARD || type == T_WRITE_ZEROES)) {
                readable = List.of(16 * (1 + r.nextInt(3)));
            }
            for (int len : readable) {
                if (plausibleSegments) {
                    for (int i = 0; i + 16 <= len; i += 16) {
                        m.write(at + i, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                                .putLong(r.nextInt(SECTORS + 2)).putInt(r.nextInt(4)).putInt(r.nextInt(6) == 0 ? r.nextInt(3) : 0).array());
                    }
                }
                in.add(new Buffer(at, len));
                at += len;
            }
            // What the device must see: the first 16 bytes of the readable stream, wherever they lie.
            byte[] stream = streamBytes(m, in);
            byte[] payload = stream.length >= 16 ? Arrays.copyOfRange(stream, 16, stream.length) : new byte[0];
            if (stream.length >= 16) {
                ByteBuffer seen = ByteBuffer.wrap(stream, 0, 16).order(ByteOrder.LITTLE_ENDIAN);
                type = seen.getInt(0);
                sector = seen.getLong(8);
            }
            List<Buffer> out = new ArrayList<>();
            at = BASE + 0x8000;
            if (separateStatus) {
                writable = new ArrayList<>(writable);
                writable.add(1);
            }
            for (int len : writable) {
                out.add(new Buffer(at, len));
                at += len;
            }
            byte[] writableBefore = streamBytes(m, out);
            VirtioBlock blk = new VirtioBlock(image, "prop");
            long negotiated = features & blk.features();

            long used = blk.handle(m, negotiated, new DescriptorChain(0, in, out));

            byte[] after = Files.readAllBytes(file);
            assertEquals(DISK, after.length, "the image changed size");
            long readableTotal = in.stream().mapToLong(Buffer::length).sum();
            long writableTotal = out.stream().mapToLong(Buffer::length).sum();
            assertTrue(ram.guardsIntact());
            if (readableTotal < 16 || writableTotal < 1) {
                assertEquals(0, used);
                assertArrayEquals(writableBefore, streamBytes(m, out), "a chain without framing was written");
                assertArrayEquals(disk, after);
                Statistics.label("status").collect("no framing");
                return;
            }
            byte[] written = streamBytes(m, out);
            int status = written[written.length - 1];
            Statistics.label("status").collect(type + ":" + status);
            assertTrue(status == S_OK || status == S_IOERR || status == S_UNSUPP, "status " + status);
            assertTrue(used >= 1 && used <= writableTotal);
            if (readOnly || status != S_OK) assertArrayEquals(disk, after, "the image changed");
            boolean known = type == T_IN || type == T_OUT || type == T_FLUSH || type == T_GET_ID
                    || type == T_DISCARD || type == T_WRITE_ZEROES;
            if (!known) assertEquals(S_UNSUPP, status);
            long dataOut = writableTotal - 1;
            boolean inRange = sector >= 0 && sector <= SECTORS;
            if (type == T_OUT) {
                boolean valid = !readOnly && payload.length % SECTOR_SIZE == 0 && inRange
                        && payload.length / SECTOR_SIZE <= SECTORS - sector;
                assertEquals(valid ? S_OK : S_IOERR, status);
                if (valid) {
                    byte[] expected = disk.clone();
                    System.arraycopy(payload, 0, expected, (int) sector * SECTOR_SIZE, payload.length);
                    assertArrayEquals(expected, after);
                }
            }
            if (type == T_IN) {
                boolean valid = dataOut % SECTOR_SIZE == 0 && inRange && dataOut / SECTOR_SIZE <= SECTORS - sector;
                assertEquals(valid ? S_OK : S_IOERR, status);
                if (valid) {
                    assertArrayEquals(Arrays.copyOfRange(disk, (int) sector * SECTOR_SIZE, (int) (sector * SECTOR_SIZE + dataOut)),
                            Arrays.copyOf(written, (int) dataOut));
                    assertEquals(dataOut + 1, used);
                }
            }
            if (type == T_FLUSH) assertEquals(S_OK, status);
            if (status == S_OK && (type == T_DISCARD || type == T_WRITE_ZEROES)) {
                assertFalse(readOnly);
                for (int i = 0; i < DISK; i++) {
                    if (after[i] != disk[i]) assertEquals(0, after[i], "only zeroes are written");
                }
            }
        }
    }

    private static byte[] streamBytes(GuestMemory m, List<Buffer> buffers) {
        ByteBuffer b = ByteBuffer.allocate((int) buffers.stream().mapToLong(Buffer::length).sum());
        for (Buffer x : buffers) b.put(m.readBytes(x.address(), (int) x.length()));
        return b.array();
    }
}
