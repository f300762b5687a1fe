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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * virtio-net through the transport, with a driver written from §5.1 over simulated guest RAM, and the
 * host side of the socket backends played by the other end of a socketpair.
 */
@Timeout(60)
class VirtioNetTest {

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
        NetBackend backend = type == LinuxLibc.SOCK_STREAM ? new StreamSocketBackend("test", pair[0]) : new DatagramSocketBackend("test", pair[0]);
        net = new VirtioNet(backend, MAC);
        t = new VirtioMmioTransport("net", net, ram.memory, asserted -> {}, List.of(new InProcessNotifier(), new InProcessNotifier()));
    }

    void w(int reg, long v) { t.write(reg, 4, v); }

    void start() {
        w(STATUS, 0);
        ram.ram().asSlice(0, 0x8000).fill((byte) 0);
        w(STATUS, ACKNOWLEDGE);
        w(STATUS, ACKNOWLEDGE | DRIVER);
        w(DRIVER_FEATURES_SEL, 1);
        w(DRIVER_FEATURES, 1);
        w(DRIVER_FEATURES_SEL, 0);
        w(DRIVER_FEATURES, 1 << NetFeatures.MAC | 1 << NetFeatures.STATUS);
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

    @Test
    void reportsItsMacAndLinkUp() {
        device(LinuxLibc.SOCK_DGRAM);
        assertEquals(VirtioNet.DEVICE_TYPE, t.read(DEVICE_ID, 4));
        for (int i = 0; i < 6; i++) assertEquals(MAC.octets()[i] & 0xff, t.read(CONFIG + i, 1));
        assertEquals(VirtioNet.S_LINK_UP, t.read(CONFIG + 6, 2));
        // A socket backend carries no headers, so no offload is offered; MRG_RXBUF never is.
        w(DEVICE_FEATURES_SEL, 0);
        long low = t.read(DEVICE_FEATURES, 4);
        assertEquals(0, low & (1 << NetFeatures.CSUM | 1 << NetFeatures.GUEST_CSUM | 1 << NetFeatures.HOST_TSO4 | 1 << NetFeatures.MRG_RXBUF));
    }

    @Test
    void datagramTransmitSendsTheBareFrame() throws Exception {
        device(LinuxLibc.SOCK_DGRAM);
        start();
        byte[] f = frame(60, 1);
        transmit(0, new byte[12], f);
        awaitUsed(tx, 1);
        assertArrayEquals(f, peerRead(2048));
    }

    @Test
    void streamTransmitPrefixesTheBigEndianLength() throws Exception {
        device(LinuxLibc.SOCK_STREAM);
        start();
        byte[] f = frame(300, 2);
        transmit(0, new byte[12], f);
        awaitUsed(tx, 1);
        byte[] got = peerRead(4096);
        assertEquals(304, got.length);
        assertArrayEquals(new byte[] {0, 0, 1, 44}, Arrays.copyOf(got, 4));
        assertArrayEquals(f, Arrays.copyOfRange(got, 4, 304));
    }

    @Test
    void badHeadersAreDroppedAndTheDeviceGoesOn() throws Exception {
        device(LinuxLibc.SOCK_DGRAM);
        start();
        byte[] csum = new byte[12];
        csum[0] = VirtioNetHeader.F_NEEDS_CSUM; // CSUM was not negotiated
        transmit(0, csum, frame(60, 3));
        transmit(2, new byte[12], frame(8, 4)); // a runt
        byte[] good = frame(60, 5);
        transmit(4, new byte[12], good);
        awaitUsed(tx, 3);
        assertEquals(2, net.droppedTransmit());
        assertArrayEquals(good, peerRead(2048));
        assertEquals(0, t.read(STATUS, 4) & DEVICE_NEEDS_RESET);
    }

    @Test
    void streamReceiveFillsABufferBehindAPlainHeader() throws Exception {
        device(LinuxLibc.SOCK_STREAM);
        start();
        byte[] f = frame(100, 6);
        byte[] wire = new byte[104];
        wire[3] = 100;
        System.arraycopy(f, 0, wire, 4, 100);
        LinuxLibc.write(peer, wire, 0, wire.length);
        postReceive(0, BUFFERS, 1526);
        awaitUsed(rx, 1);
        assertEquals(112, rx.usedLen(0));
        byte[] header = ram.memory.readBytes(BUFFERS, 12);
        assertEquals(VirtioNetHeader.PLAIN_RECEIVE, VirtioNetHeader.decode(header));
        assertArrayEquals(f, ram.memory.readBytes(BUFFERS + 12, 100));
    }

    @Test
    void withoutReceiveBuffersFramesWaitInTheSocketInOrder() throws Exception {
        device(LinuxLibc.SOCK_DGRAM);
        start();
        for (int i = 0; i < 5; i++) LinuxLibc.write(peer, frame(64, 10 + i), 0, 64);
        Thread.sleep(100);
        assertEquals(0, rx.usedIdx());
        for (int i = 0; i < 5; i++) {
            postReceive(i, BUFFERS + i * 0x1000L, 1526);
            awaitUsed(rx, i + 1);
            assertArrayEquals(frame(64, 10 + i), ram.memory.readBytes(BUFFERS + i * 0x1000L + 12, 64), "frame " + i);
        }
    }

    @Test
    void aFrameLargerThanTheBufferIsDroppedAndTheBufferKept() throws Exception {
        device(LinuxLibc.SOCK_DGRAM);
        start();
        postReceive(0, BUFFERS, 100);
        LinuxLibc.write(peer, frame(200, 20), 0, 200);
        LinuxLibc.write(peer, frame(80, 21), 0, 80);
        awaitUsed(rx, 1);
        assertEquals(92, rx.usedLen(0));
        assertArrayEquals(frame(80, 21), ram.memory.readBytes(BUFFERS + 12, 80));
        assertEquals(1, net.droppedReceive());
    }

    @Test
    void aBrokenReceiveRingNeedsAResetAndTheDeviceWorksAfterIt() throws Exception {
        device(LinuxLibc.SOCK_DGRAM);
        start();
        rx.descriptor(0, BASE - 0x1000, 1526, VIRTQ_DESC_F_WRITE, 0); // outside RAM
        rx.publish(0);
        w(QUEUE_NOTIFY, 0);
        while ((t.read(STATUS, 4) & DEVICE_NEEDS_RESET) == 0) Thread.sleep(1);
        start();
        LinuxLibc.write(peer, frame(64, 30), 0, 64);
        postReceive(0, BUFFERS, 1526);
        awaitUsed(rx, 1);
        assertArrayEquals(frame(64, 30), ram.memory.readBytes(BUFFERS + 12, 64));
    }

    @Test
    void aPeerSendingABogusLengthEndsOnlyTheConnection() throws Exception {
        device(LinuxLibc.SOCK_STREAM);
        start();
        LinuxLibc.write(peer, new byte[] {0x7f, 0, 0, 0}, 0, 4);
        postReceive(0, BUFFERS, 1526);
        Thread.sleep(100);
        assertEquals(0, rx.usedIdx());
        assertEquals(0, t.read(STATUS, 4) & DEVICE_NEEDS_RESET);
        w(STATUS, 0); // reset returns although the receive thread had nothing more to read
    }

    @Test
    void badMacAddressesAreOneSentence() {
        for (String bad : List.of("", "52:54:00:12:34", "53:54:00:12:34:56", "52:54:00:12:34:5g", "52-54-00-12-34-56")) {
            var e = assertThrows(org.jvmm.core.ConfigurationException.class, () -> MacAddress.parse(bad), bad);
            assertTrue(e.getMessage().endsWith("."), e.getMessage());
        }
        assertEquals("52:54:00:12:34:56", MAC.toString());
        assertEquals(0, MacAddress.random().octets()[0] & 1);
    }
}
