package org.jvmm.virtio.net;

import static org.jvmm.virtio.DeviceStatus.*;
import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.InProcessNotifier;
import org.jvmm.virtio.RingDriver;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.mmio.VirtioMmioTransport;
import org.jvmm.virtio.queue.QueueLayout;

/**
 * Not a test: the in-process virtio-net transmit path (transport register writes, queue worker thread,
 * ring walking, header validation, the passt-framed stream backend, used ring) measured with a driver
 * written in Java against simulated guest RAM, next to the host sending the same framed stream on the
 * same kind of socket itself. A reader thread drains the other end of a Unix stream socketpair and
 * counts what arrives, so both figures are bytes that reached the host side.
 *
 * <p>Usage (from the repository root, after {@code bin/mvn -q test-compile -pl devices-virtio}):
 * {@code java -cp <test classpath> org.jvmm.virtio.net.NetPathBenchmark [FRAME_BYTES [SECONDS]]}
 */
public final class NetPathBenchmark {

    static final long BASE = 0x100000, RAM = 64L << 20;
    static final long DESC = BASE, AVAIL = BASE + 0x1000, USED = BASE + 0x2000, DATA = BASE + 0x100000;
    static final int QSIZE = 256;

    public static void main(String[] args) throws Exception {
        int frame = args.length > 0 ? Integer.parseInt(args[0]) : 1514;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        System.out.printf("%d-byte frames, guest -> host over a Unix stream socket with 4-byte length prefixes, %.0f s each%n", frame, seconds);
        for (int round = 0; round < 2; round++) {
            double[] host = hostSends(frame, seconds), dev = deviceSends(frame, seconds);
            System.out.printf("host send             : %,10.0f frames/s %,8.0f MB/s%n", host[0], host[1] / 1e6);
            System.out.printf("virtio-net transmit   : %,10.0f frames/s %,8.0f MB/s%n", dev[0], dev[1] / 1e6);
        }
    }

    /** Drains {@code fd} on a daemon thread, adding what it reads to {@code bytes}, until the socket closes. */
    static Thread drain(int fd, AtomicLong bytes) {
        return Thread.ofPlatform().daemon().start(() -> {
            byte[] buf = new byte[256 * 1024];
            try {
                for (int n; (n = LinuxLibc.read(fd, buf, 0, buf.length)) > 0; ) bytes.addAndGet(n);
            } catch (SysException closed) {
                // the benchmark is over
            }
        });
    }

    static double[] hostSends(int frame, double seconds) throws Exception {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM, 0);
        AtomicLong bytes = new AtomicLong();
        Thread reader = drain(pair[1], bytes);
        try (StreamSocketBackend b = new StreamSocketBackend("bench", pair[0])) {
            byte[] f = new byte[frame];
            long n = 0, end = System.nanoTime() + (long) (seconds * 1e9), start = System.nanoTime();
            while (System.nanoTime() < end) {
                for (int i = 0; i < 64; i++) b.send(f, frame);
                n += 64;
            }
            double elapsed = (System.nanoTime() - start) / 1e9;
            return new double[] {n / elapsed, bytes.get() / elapsed};
        } finally {
            reader.join(); // the sending end closed with the backend: the reader saw the end of the stream
            LinuxLibc.close(pair[1]);
        }
    }

    static double[] deviceSends(int frame, double seconds) throws Exception {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM, 0);
        AtomicLong bytes = new AtomicLong();
        Thread reader = drain(pair[1], bytes);
        try (GuestRam ram = new GuestRam(BASE, RAM)) {
            VirtioNet net = new VirtioNet(new StreamSocketBackend("bench", pair[0]), MacAddress.parse("52:54:00:00:00:01"));
            VirtioMmioTransport t = new VirtioMmioTransport("bench", net, ram.memory, asserted -> {},
                    List.of(new InProcessNotifier(), new InProcessNotifier()));
            try {
                long features = VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX);
                t.write(STATUS, 4, ACKNOWLEDGE);
                t.write(STATUS, 4, ACKNOWLEDGE | DRIVER);
                t.write(DRIVER_FEATURES_SEL, 4, 1);
                t.write(DRIVER_FEATURES, 4, features >>> 32);
                t.write(DRIVER_FEATURES_SEL, 4, 0);
                t.write(DRIVER_FEATURES, 4, features & 0xffffffffL);
                t.write(STATUS, 4, ACKNOWLEDGE | DRIVER | FEATURES_OK);
                // Queue 0 (receive) is set up but left empty; queue 1 carries the frames.
                for (int q = 0; q < 2; q++) {
                    long at = q * 0x4000L;
                    t.write(QUEUE_SEL, 4, q);
                    t.write(QUEUE_NUM, 4, QSIZE);
                    t.write(QUEUE_DESC_LOW, 4, DESC + at);
                    t.write(QUEUE_DRIVER_LOW, 4, AVAIL + at);
                    t.write(QUEUE_DEVICE_LOW, 4, USED + at);
                    t.write(QUEUE_READY, 4, 1);
                }
                t.write(STATUS, 4, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
                RingDriver tx = new RingDriver(ram.memory, new QueueLayout(QSIZE, DESC + 0x4000, AVAIL + 0x4000, USED + 0x4000));
                int chain = VirtioNetHeader.SIZE + frame;
                for (int d = 0; d < QSIZE; d++) tx.descriptor(d, DATA + (long) d * chain, chain, 0, 0); // zero header, zero frame
                long n = 0, used = 0;
                int batch = QSIZE / 2;
                long end = System.nanoTime() + (long) (seconds * 1e9), start = System.nanoTime();
                while (System.nanoTime() < end) {
                    for (int i = 0; i < batch; i++) tx.publish((int) ((n + i) % QSIZE));
                    tx.setUsedEvent((int) (used + batch - 1) & 0xffff);
                    t.write(QUEUE_NOTIFY, 4, 1);
                    used += batch;
                    while (tx.usedIdx() != (int) (used & 0xffff)) Thread.yield(); // 2 cores: leave them to the device and the reader
                    t.write(INTERRUPT_ACK, 4, INTERRUPT_USED_BUFFER);
                    n += batch;
                }
                double elapsed = (System.nanoTime() - start) / 1e9;
                return new double[] {n / elapsed, bytes.get() / elapsed};
            } finally {
                t.close();
            }
        } finally {
            reader.join(); // the sending end closed with the backend: the reader saw the end of the stream
            LinuxLibc.close(pair[1]);
        }
    }
}
