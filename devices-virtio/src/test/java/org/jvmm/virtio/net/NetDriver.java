package org.jvmm.virtio.net;

import static org.jvmm.virtio.DeviceStatus.*;
import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;
import static org.jvmm.virtio.queue.SplitQueue.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.List;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.InProcessNotifier;
import org.jvmm.virtio.RingDriver;
import org.jvmm.virtio.mmio.VirtioMmioTransport;
import org.jvmm.virtio.queue.QueueLayout;
import org.junit.jupiter.api.AfterEach;

/**
 * A virtio-net driver written from §5.1 over simulated guest RAM, driving the device through the
 * transport; for socket backends the host side is the other end of a socketpair ({@link #peer}).
 */
abstract class NetDriver {

    static final long BASE = 0x100000;
    static final int QSIZE = 8;
    static final QueueLayout RX = new QueueLayout(QSIZE, BASE, BASE + 0x1000, BASE + 0x2000);
    static final QueueLayout TX = new QueueLayout(QSIZE, BASE + 0x4000, BASE + 0x5000, BASE + 0x6000);
    static final long BUFFERS = BASE + 0x10000;
    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");

    final GuestRam ram = new GuestRam(BASE, 0x100000);
    int peer;
    VirtioNet net;
    VirtioMmioTransport t;
    RingDriver rx, tx;

    @AfterEach
    void close() {
        if (t != null) t.close();
        if (net != null) net.close();
        if (peer > 0) LinuxLibc.close(peer);
        ram.close();
    }

    /** A device on a socketpair of {@code type}; {@link #peer} is the host's end. */
    void device(int type) {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, type | LinuxLibc.SOCK_CLOEXEC, 0);
        peer = pair[1];
        device(type == LinuxLibc.SOCK_STREAM ? new StreamSocketBackend("test", pair[0]) : new DatagramSocketBackend("test", pair[0]));
    }

    void device(NetBackend backend) {
        net = new VirtioNet(backend, MAC);
        t = new VirtioMmioTransport("net", net, ram.memory, asserted -> {}, List.of(new InProcessNotifier(), new InProcessNotifier()));
    }

    void w(int reg, long v) { t.write(reg, 4, v); }

    void start() {
        start(1 << NetFeatures.MAC | 1 << NetFeatures.STATUS);
    }

    /** Resets the device and drives it to DRIVER_OK with VERSION_1 and the features in {@code low} (bits 0..31). */
    void start(int low) {
        w(STATUS, 0);
        ram.ram().asSlice(0, 0x8000).fill((byte) 0);
        w(STATUS, ACKNOWLEDGE);
        w(STATUS, ACKNOWLEDGE | DRIVER);
        w(DRIVER_FEATURES_SEL, 1);
        w(DRIVER_FEATURES, 1);
        w(DRIVER_FEATURES_SEL, 0);
        w(DRIVER_FEATURES, low);
        w(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        for (int q = 0; q < 2; q++) {
            QueueLayout l = q == 0 ? RX : TX;
            w(QUEUE_SEL, q);
            w(QUEUE_NUM, QSIZE);
            w(QUEUE_DESC_LOW, l.descriptorTable());
            w(QUEUE_DRIVER_LOW, l.availableRing());
            w(QUEUE_DEVICE_LOW, l.usedRing());
            w(QUEUE_READY, 1);
        }
        w(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(0, t.read(STATUS, 4) & DEVICE_NEEDS_RESET);
        rx = new RingDriver(ram.memory, RX);
        tx = new RingDriver(ram.memory, TX);
    }

    static void awaitUsed(RingDriver ring, int idx) throws InterruptedException {
        while (ring.usedIdx() != idx) Thread.sleep(1);
    }

    static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) f[i] = (byte) (seed * 31 + i);
        return f;
    }

    /** Transmits {@code header} + {@code frame} split across two descriptors, as descriptor pair {@code d}, {@code d+1}. */
    void transmit(int d, byte[] header, byte[] frame) {
        long at = BUFFERS + 0x20000 + d * 0x1000L;
        ram.memory.write(at, header);
        ram.memory.write(at + 0x100, frame);
        tx.descriptor(d, at, header.length, VIRTQ_DESC_F_NEXT, d + 1);
        tx.descriptor(d + 1, at + 0x100, frame.length, 0, 0);
        tx.publish(d);
        w(QUEUE_NOTIFY, 1);
    }

    void postReceive(int d, long address, int length) {
        rx.descriptor(d, address, length, VIRTQ_DESC_F_WRITE, 0);
        rx.publish(d);
        w(QUEUE_NOTIFY, 0);
    }

    byte[] peerRead(int max) {
        byte[] b = new byte[max];
        int n = LinuxLibc.read(peer, b, 0, max);
        return Arrays.copyOf(b, n);
    }

}
