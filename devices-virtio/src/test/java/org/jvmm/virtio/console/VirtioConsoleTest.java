package org.jvmm.virtio.console;

import static org.jvmm.virtio.DeviceStatus.*;
import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;
import static org.jvmm.virtio.queue.SplitQueue.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.InProcessNotifier;
import org.jvmm.virtio.RingDriver;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.mmio.VirtioMmioTransport;
import org.jvmm.virtio.queue.QueueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The console through the transport, with a driver written from §5.3 over simulated guest RAM. */
@Timeout(60)
class VirtioConsoleTest {

    static final long BASE = 0x100000;
    static final int QSIZE = 8;
    static final QueueLayout RX = new QueueLayout(QSIZE, BASE, BASE + 0x1000, BASE + 0x2000);
    static final QueueLayout TX = new QueueLayout(QSIZE, BASE + 0x4000, BASE + 0x5000, BASE + 0x6000);
    static final long BUFFERS = BASE + 0x10000;

    /** Console input fed by the test, one element per read, counting how many the device consumed. */
    static final class FedInput extends InputStream {
        final BlockingQueue<byte[]> chunks = new LinkedBlockingQueue<>();
        final AtomicInteger consumed = new AtomicInteger();

        @Override
        public int read() {
            throw new UnsupportedOperationException();
        }

        @Override
        public int read(byte[] b, int off, int len) {
            try {
                byte[] c = chunks.take();
                consumed.incrementAndGet();
                if (c.length == 0) return -1;
                System.arraycopy(c, 0, b, off, c.length);
                return c.length;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }
    }

    final GuestRam ram = new GuestRam(BASE, 0x100000);
    final FedInput in = new FedInput();
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    VirtioConsole console;
    VirtioMmioTransport t;
    RingDriver rx, tx;

    {
        attach(in);
    }

    /** A fresh console reading {@code input}, replacing (and closing) the current one. */
    void attach(InputStream input) {
        if (t != null) t.close();
        console = new VirtioConsole(input, out, 132, 43);
        t = new VirtioMmioTransport("console", console, ram.memory, asserted -> {},
                List.of(new InProcessNotifier(), new InProcessNotifier()));
    }

    @AfterEach
    void close() {
        in.chunks.add(new byte[0]); // end of input: lets the pump thread finish
        t.close();
        ram.close();
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
        w(DRIVER_FEATURES, 1 << VirtioConsole.F_SIZE);
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

    /** Posts a receive buffer of {@code length} bytes at {@code address} as descriptor {@code d}. */
    void postReceive(int d, long address, int length) {
        rx.descriptor(d, address, length, VIRTQ_DESC_F_WRITE, 0);
        rx.publish(d);
        w(QUEUE_NOTIFY, 0);
    }

    String guestString(long address, int length) {
        return new String(ram.memory.readBytes(address, length), StandardCharsets.US_ASCII);
    }

    @Test
    void reportsItsSize() {
        assertEquals(VirtioConsole.DEVICE_TYPE, t.read(DEVICE_ID, 4));
        assertEquals(132, t.read(CONFIG, 2));
        assertEquals(43, t.read(CONFIG + 2, 2));
        assertTrue(VirtioFeatures.has(console.features(), VirtioConsole.F_SIZE));
    }

    @Test
    void transmitChainsReachTheOutputInOrder() throws Exception {
        start();
        ram.memory.write(BUFFERS, "hello, ".getBytes(StandardCharsets.US_ASCII));
        ram.memory.write(BUFFERS + 0x100, "world\n".getBytes(StandardCharsets.US_ASCII));
        tx.descriptor(0, BUFFERS, 7, VIRTQ_DESC_F_NEXT, 1);
        tx.descriptor(1, BUFFERS + 0x100, 6, 0, 0);
        tx.publish(0);
        w(QUEUE_NOTIFY, 1);
        awaitUsed(tx, 1);
        assertEquals(0, tx.usedLen(0));
        synchronized (out) {
            assertEquals("hello, world\n", out.toString(StandardCharsets.US_ASCII));
        }
    }

    @Test
    void inputFillsReceiveBuffersAsTheGuestPostsThem() throws Exception {
        start();
        in.chunks.add("abc".getBytes(StandardCharsets.US_ASCII));
        postReceive(0, BUFFERS, 2);
        awaitUsed(rx, 1);
        assertEquals(2, rx.usedLen(0));
        assertEquals("ab", guestString(BUFFERS, 2));
        postReceive(1, BUFFERS + 0x100, 16);
        awaitUsed(rx, 2);
        assertEquals(1, rx.usedLen(1));
        assertEquals("c", guestString(BUFFERS + 0x100, 1));
    }

    @Test
    void withoutReceiveBuffersInputWaitsOutsideTheVmm() throws Exception {
        start();
        for (int i = 0; i < 10; i++) in.chunks.add(("chunk" + i).getBytes(StandardCharsets.US_ASCII));
        while (in.consumed.get() < 2) Thread.sleep(1);
        Thread.sleep(100);
        assertTrue(in.consumed.get() <= 2, "the device read " + in.consumed.get() + " chunks with nowhere to put them");
        postReceive(0, BUFFERS, 64);
        awaitUsed(rx, 1);
        assertEquals("chunk0", guestString(BUFFERS, (int) rx.usedLen(0)));
    }

    @Test
    void inputSurvivesAResetOfTheDriver() throws Exception {
        start();
        in.chunks.add("kept".getBytes(StandardCharsets.US_ASCII));
        while (in.consumed.get() < 1) Thread.sleep(1);
        start(); // resets first: the receive thread stops, the pending input stays
        postReceive(0, BUFFERS, 64);
        awaitUsed(rx, 1);
        assertEquals("kept", guestString(BUFFERS, (int) rx.usedLen(0)));
    }

    /**
     * Input from a real pipe, read as jvmm reads a piped standard input: while the reader blocks on the
     * open, empty pipe, and after the pipe has ended, the guest's output goes on chain by chain (Linux's
     * hvc console waits for each transmit buffer to come back), and a reset still completes.
     */
    @Test
    void inputFromAPipeThatIsSilentOrEndedNeverHoldsUpOutput() throws Exception {
        Process cat = new ProcessBuilder("cat").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            attach(cat.getInputStream()); // cat's standard output: an operating-system pipe
            start();
            postReceive(0, BUFFERS, 64);
            postReceive(1, BUFFERS + 0x100, 64);
            StringBuilder expected = new StringBuilder();
            int sent = 0;
            for (; sent < 20; sent++) expected.append(transmit(sent, "before input " + sent + "\r\n"));
            cat.getOutputStream().write("ls /\n".getBytes(StandardCharsets.US_ASCII));
            cat.getOutputStream().flush();
            awaitUsed(rx, 1);
            assertEquals("ls /\n", guestString(BUFFERS, (int) rx.usedLen(0)));
            cat.getOutputStream().close(); // the end of the piped input
            for (; sent < 60; sent++) expected.append(transmit(sent, "after the end " + sent + "\r\n"));
            synchronized (out) {
                assertEquals(expected.toString(), out.toString(StandardCharsets.US_ASCII));
            }
            start(); // a reset after the input ended returns, and the device comes up again
            assertEquals("next\r\n", transmit(0, "next\r\n"));
        } finally {
            cat.destroyForcibly();
        }
    }

    /** Sends {@code line} as transmit chain number {@code n} (counted from the last start) and waits for it to come back. */
    private String transmit(int n, String line) throws InterruptedException {
        int d = n % QSIZE;
        long buffer = BUFFERS + 0x1000 + d * 0x100L;
        ram.memory.write(buffer, line.getBytes(StandardCharsets.US_ASCII));
        tx.descriptor(d, buffer, line.length(), 0, 0);
        tx.publish(d);
        w(QUEUE_NOTIFY, 1);
        awaitUsed(tx, (n + 1) & 0xffff);
        return line;
    }

    @Test
    void aBrokenReceiveRingNeedsAReset() throws Exception {
        start();
        in.chunks.add("x".getBytes(StandardCharsets.US_ASCII));
        rx.descriptor(0, BASE - 0x1000, 16, VIRTQ_DESC_F_WRITE, 0); // outside RAM
        rx.publish(0);
        w(QUEUE_NOTIFY, 0);
        while ((t.read(STATUS, 4) & DEVICE_NEEDS_RESET) == 0) Thread.sleep(1);
        start();
        postReceive(0, BUFFERS, 8);
        awaitUsed(rx, 1);
        assertEquals("x", guestString(BUFFERS, 1));
    }
}
