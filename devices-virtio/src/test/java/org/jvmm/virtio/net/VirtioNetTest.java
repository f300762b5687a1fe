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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * virtio-net through the transport, with the simulated driver of {@link NetDriver}, and the host side of
 * the socket backends played by the other end of a socketpair.
 */
@Timeout(60)
class VirtioNetTest extends NetDriver {

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
    void aResetReturnsWhileTheStreamPeerHasStoppedReading() throws Exception {
        device(LinuxLibc.SOCK_STREAM);
        start();
        // Transmit until the socket is full and the device waits for the peer, which never reads.
        int sent = 0;
        long stalledSince = 0;
        while (true) {
            int before = tx.usedIdx();
            if (before == sent) {
                for (int d = 0; d < QSIZE; d += 2) transmit(d, new byte[12], frame(3000, sent + d));
                sent += QSIZE / 2;
                stalledSince = System.nanoTime();
            } else if (System.nanoTime() - stalledSince > 500_000_000L) {
                break; // nothing used for half a second: the device is waiting for the peer
            }
            Thread.sleep(1);
        }
        w(STATUS, 0); // must return: the wait is given up and the connection dropped
        assertEquals(0, t.read(STATUS, 4));
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
