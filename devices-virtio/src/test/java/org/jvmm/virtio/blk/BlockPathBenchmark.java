package org.jvmm.virtio.blk;

import static org.jvmm.virtio.DeviceStatus.*;
import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;
import static org.jvmm.virtio.queue.SplitQueue.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.InProcessNotifier;
import org.jvmm.virtio.RingDriver;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.mmio.VirtioMmioTransport;
import org.jvmm.virtio.queue.QueueLayout;

/**
 * Not a test: the in-process virtio-blk path (transport register writes, queue worker thread, ring
 * walking, positional file I/O, used ring, interrupt) measured with a driver written in Java against
 * simulated guest RAM, next to plain {@code FileChannel} positional reads of the same file. It shows
 * what the device model costs per request, without any guest or hypervisor in the way.
 *
 * <p>Usage (from the repository root, after {@code bin/mvn -q test-compile -pl devices-virtio}):
 * {@code java -cp <test classpath> org.jvmm.virtio.blk.BlockPathBenchmark [FILE_MIB [SECONDS]]}
 */
public final class BlockPathBenchmark {

    static final long BASE = 0x100000, RAM = 64L << 20;
    static final long DESC = BASE, AVAIL = BASE + 0x1000, USED = BASE + 0x2000, HEADERS = BASE + 0x4000;
    static final long STATUSES = BASE + 0x8000, DATA = BASE + 0x100000;
    static final int QSIZE = 256, BLOCK = 4096;

    public static void main(String[] args) throws Exception {
        int fileMiB = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        Path file = Files.createTempFile("jvmm-blk-bench", ".img");
        try {
            byte[] chunk = new byte[1 << 20];
            new SplittableRandom(1).nextBytes(chunk);
            try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE)) {
                for (int i = 0; i < fileMiB; i++) c.write(ByteBuffer.wrap(chunk));
            }
            long blocks = (long) fileMiB * (1 << 20) / BLOCK;
            System.out.printf("file %d MiB (page cache warm after the first pass), 4 KiB random reads, %.0f s each%n", fileMiB, seconds);
            for (int round = 0; round < 2; round++) {
                System.out.printf("host pread            : %,10.0f IOPS%n", hostReads(file, blocks, seconds));
                System.out.printf("virtio-blk QD1        : %,10.0f IOPS%n", deviceReads(file, blocks, seconds, 1, BLOCK));
                System.out.printf("virtio-blk QD32       : %,10.0f IOPS%n", deviceReads(file, blocks, seconds, 32, BLOCK));
                double mbs = deviceReads(file, blocks, seconds, 1, 1 << 20) * (1 << 20) / 1e6;
                System.out.printf("virtio-blk 1 MiB seq  : %,10.0f MB/s%n", mbs);
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    static double hostReads(Path file, long blocks, double seconds) throws Exception {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(BLOCK);
            SplittableRandom r = new SplittableRandom(2);
            long n = 0, end = System.nanoTime() + (long) (seconds * 1e9), start = System.nanoTime();
            while (System.nanoTime() < end) {
                for (int i = 0; i < 64; i++) {
                    buf.clear();
                    c.read(buf, r.nextLong(blocks) * BLOCK);
                }
                n += 64;
            }
            return n / ((System.nanoTime() - start) / 1e9);
        }
    }

    /** Requests of {@code size} bytes, {@code depth} in flight: random 4 KiB blocks, or sequential for 1 MiB. */
    static double deviceReads(Path file, long blocks, double seconds, int depth, int size) throws Exception {
        try (GuestRam ram = new GuestRam(BASE, RAM)) {
            InProcessNotifier kick = new InProcessNotifier();
            VirtioMmioTransport t = new VirtioMmioTransport("bench", new VirtioBlock(DiskImage.open(file, true)), ram.memory,
                    asserted -> {}, List.of(kick));
            try {
                long features = VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX);
                t.write(STATUS, 4, ACKNOWLEDGE);
                t.write(STATUS, 4, ACKNOWLEDGE | DRIVER);
                t.write(DRIVER_FEATURES_SEL, 4, 1);
                t.write(DRIVER_FEATURES, 4, features >>> 32);
                t.write(DRIVER_FEATURES_SEL, 4, 0);
                t.write(DRIVER_FEATURES, 4, features & 0xffffffffL);
                t.write(STATUS, 4, ACKNOWLEDGE | DRIVER | FEATURES_OK);
                t.write(QUEUE_NUM, 4, QSIZE);
                t.write(QUEUE_DESC_LOW, 4, DESC);
                t.write(QUEUE_DRIVER_LOW, 4, AVAIL);
                t.write(QUEUE_DEVICE_LOW, 4, USED);
                t.write(QUEUE_READY, 4, 1);
                t.write(STATUS, 4, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
                RingDriver ring = new RingDriver(ram.memory, new QueueLayout(QSIZE, DESC, AVAIL, USED));
                // Request slot s uses descriptors 3s..3s+2 and its own header, buffer and status byte.
                for (int s = 0; s < depth; s++) {
                    ring.descriptor(3 * s, HEADERS + 16L * s, 16, VIRTQ_DESC_F_NEXT, 3 * s + 1);
                    ring.descriptor(3 * s + 1, DATA + (long) s * size, size, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3 * s + 2);
                    ring.descriptor(3 * s + 2, STATUSES + s, 1, VIRTQ_DESC_F_WRITE, 0);
                }
                SplittableRandom r = new SplittableRandom(3);
                long sectorsPerRequest = size / 512, maxStart = blocks * (BLOCK / 512) - sectorsPerRequest;
                long sequential = 0, n = 0, used = 0;
                long end = System.nanoTime() + (long) (seconds * 1e9), start = System.nanoTime();
                while (System.nanoTime() < end) {
                    for (int s = 0; s < depth; s++) {
                        long sector = size == BLOCK ? r.nextLong(blocks) * (BLOCK / 512) : sequential;
                        sequential = (sequential + sectorsPerRequest) % maxStart;
                        ram.memory.write(HEADERS + 16L * s, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                                .putInt(0, VirtioBlock.T_IN).putLong(8, sector).array());
                        ring.setUsedEvent((int) used & 0xffff);
                        ring.publish(3 * s);
                    }
                    t.write(QUEUE_NOTIFY, 4, 0);
                    used += depth;
                    while (ring.usedIdx() != (int) (used & 0xffff)) Thread.onSpinWait();
                    t.write(INTERRUPT_ACK, 4, INTERRUPT_USED_BUFFER);
                    n += depth;
                }
                return n / ((System.nanoTime() - start) / 1e9);
            } finally {
                t.close();
            }
        }
    }
}
