package org.jvmm.x86.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.jvmm.core.irq.IrqLine;

class Uart8250Test {

    /** Records every level change of the line. */
    static final class RecordingLine implements IrqLine {
        final List<Boolean> changes = new ArrayList<>();
        volatile boolean level;

        @Override
        public synchronized void set(boolean asserted) {
            changes.add(asserted);
            level = asserted;
        }
    }

    final RecordingLine irq = new RecordingLine();
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final Uart8250 uart = new Uart8250("com1", irq, out);

    @Test
    void thrWritesGoToTheOutputAndLsrAlwaysReportsTransmitterEmpty() {
        for (char c : "hi\n".toCharArray()) {
            assertEquals(0x60, uart.read(5, 1) & 0x60);
            uart.write(0, 1, c);
        }
        assertEquals("hi\n", out.toString());
        assertEquals(0, uart.read(5, 1) & 0x01, "no data ready");
    }

    @Test
    void dlabSwitchesOffsetsZeroAndOneToTheDivisorLatch() {
        uart.write(3, 1, 0x83);
        uart.write(0, 1, 0x01);
        uart.write(1, 1, 0x00);
        assertEquals(0x01, uart.read(0, 1));
        assertEquals(0x00, uart.read(1, 1));
        uart.write(3, 1, 0x03);
        assertEquals(0, out.size(), "divisor writes are not output");
        assertEquals(0, uart.read(1, 1), "IER untouched");
    }

    @Test
    void thrEmptyInterruptIsRaisedOnEnableAndAcknowledgedByReadingIir() {
        uart.write(1, 1, Uart8250.IER_THRE);
        assertTrue(irq.level);
        assertEquals(Uart8250.IIR_THRE, uart.read(2, 1) & 0x0f);
        assertFalse(irq.level, "reading IIR acknowledges THRE");
        assertEquals(Uart8250.IIR_NONE, uart.read(2, 1) & 0x0f);
        uart.write(0, 1, 'x');
        assertTrue(irq.level, "THR empties at once after a write");
    }

    @Test
    void fifoBitsShowInIirWhenFifosAreEnabled() {
        uart.write(2, 1, 0x07);
        assertEquals(0xc0, uart.read(2, 1) & 0xc0);
        uart.write(2, 1, 0x00);
        assertEquals(0, uart.read(2, 1) & 0xc0);
    }

    @Test
    void loopbackTurnsOutputIntoInputAndReflectsModemLines() {
        uart.write(4, 1, 0x10 | 0x0f);
        assertEquals(0xf0, uart.read(6, 1));
        uart.write(1, 1, Uart8250.IER_RDA);
        uart.write(0, 1, 'a');
        assertEquals(0, out.size());
        assertEquals(1, uart.read(5, 1) & 1, "data ready");
        assertTrue(irq.level);
        assertEquals('a', uart.read(0, 1));
        assertFalse(irq.level);
        uart.write(4, 1, 0x00);
        assertEquals(0xb0, uart.read(6, 1), "outside loopback: DCD, DSR, CTS");
    }

    @Test
    void scratchRegisterHoldsAByte() {
        uart.write(7, 1, 0x5a);
        assertEquals(0x5a, uart.read(7, 1));
    }

    @Test
    @Timeout(30)
    void inputIsDeliveredInOrderAndTheFifoNeverHoldsMoreThanItsCapacity() throws Exception {
        PipedOutputStream feed = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(feed, 4096);
        uart.write(1, 1, Uart8250.IER_RDA);
        uart.startInput(in);
        byte[] sent = new byte[1000];
        for (int i = 0; i < sent.length; i++) sent[i] = (byte) (i * 7);
        feed.write(sent);
        feed.flush();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        while (got.size() < sent.length) {
            assertTrue(uart.pendingInput() <= Uart8250.RX_CAPACITY);
            if ((uart.read(5, 1) & 1) != 0) {
                assertTrue(irq.level, "received data raises the line");
                got.write((int) uart.read(0, 1));
            } else {
                Thread.onSpinWait();
            }
        }
        assertEquals(java.util.HexFormat.of().formatHex(sent), java.util.HexFormat.of().formatHex(got.toByteArray()));
        uart.close();
    }

    @Test
    @Timeout(30)
    void aProducerFasterThanTheGuestIsHeldBackNotBuffered() throws Exception {
        InputStream endless = new InputStream() {
            @Override public int read() { return 'z'; }
            @Override public int read(byte[] b, int off, int len) { java.util.Arrays.fill(b, off, off + len, (byte) 'z'); return len; }
        };
        uart.startInput(endless);
        while (uart.pendingInput() < Uart8250.RX_CAPACITY) Thread.onSpinWait();
        Thread.sleep(200); // give a hypothetical leak time to show; the assertion does not depend on timing
        assertEquals(Uart8250.RX_CAPACITY, uart.pendingInput());
        uart.close();
    }

    record Access(boolean write, long offset, int size, long value) {}

    @Provide
    Arbitrary<List<Access>> accesses() {
        Arbitrary<Access> one = Combinators.combine(Arbitraries.of(true, false), Arbitraries.longs().between(0, 9),
                Arbitraries.of(1, 2, 4, 8), Arbitraries.longs()).as(Access::new);
        return one.list().ofMaxSize(300);
    }

    @Property(tries = 300)
    void arbitraryRegisterTrafficNeverThrowsAndNeverGrowsBuffers(@ForAll("accesses") List<Access> trace) throws IOException {
        RecordingLine line = new RecordingLine();
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        Uart8250 u = new Uart8250("com1", line, sink);
        int thrWrites = 0;
        for (Access a : trace) {
            if (a.write()) {
                if (a.offset() == 0) thrWrites++;
                u.write(a.offset(), a.size(), a.value());
            } else {
                long v = u.read(a.offset(), a.size());
                assertTrue(v >= 0 && v <= 0xff, "a register is one byte: " + v);
            }
            assertTrue(u.pendingInput() <= Uart8250.RX_CAPACITY);
            assertEquals(u.interruptAsserted(), line.level, "the line follows the device's interrupt state");
        }
        assertTrue(sink.size() <= thrWrites);
        for (int i = 1; i < line.changes.size(); i++) {
            assertTrue(line.changes.get(i) != line.changes.get(i - 1), "only level changes reach the line");
        }
    }
}
