package org.jvmm.arm64.devices;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The PL011 model against the register descriptions of ARM DDI 0183 (offsets and bits written out here). */
class Pl011Test {

    /** Records every level change of the line. */
    static final class Line implements org.jvmm.core.irq.IrqLine {
        final List<Boolean> changes = new ArrayList<>();
        boolean level;
        public synchronized void set(boolean asserted) { level = asserted; changes.add(asserted); }
    }

    @Test
    void identifiesAsAPl011ToTheAmbaBus() {
        Pl011 u = new Pl011("uart", new Line(), new ByteArrayOutputStream());
        // PeriphID0..3 at 0xfe0..0xfec: part 0x011, designer 0x41 (Arm), revision 1; PCellID 0xb105f00d.
        int[] expected = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
        for (int i = 0; i < 8; i++) assertEquals(expected[i], u.read(0xfe0 + 4L * i, 4), "ID register " + i);
    }

    @Test
    void transmitsAndReportsAnEmptyFifo() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Pl011 u = new Pl011("uart", new Line(), out);
        assertEquals(0x90, u.read(0x018, 4), "FR after reset: TXFE (bit 7) and RXFE (bit 4)");
        for (byte b : "hi\n".getBytes()) u.write(0x000, 4, b & 0xff);
        assertEquals("hi\n", out.toString());
        assertEquals(0x90, u.read(0x018, 4), "transmission is instantaneous: never busy, never full");
    }

    @Test
    void transmitInterruptFollowsMaskAndClear() {
        Line line = new Line();
        Pl011 u = new Pl011("uart", line, new ByteArrayOutputStream());
        u.write(0x000, 4, 'x');
        assertEquals(0x20, u.read(0x03c, 4), "RIS: TXRIS (bit 5)");
        assertEquals(0, u.read(0x040, 4), "MIS: masked");
        assertFalse(line.level);
        u.write(0x038, 4, 0x20); // IMSC: TXIM
        assertTrue(line.level);
        assertEquals(0x20, u.read(0x040, 4));
        u.write(0x044, 4, 0x20); // ICR: clear TX
        assertFalse(line.level);
        assertEquals(0, u.read(0x03c, 4));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void receivesInputWithInterruptsAndBackPressure() throws Exception {
        Line line = new Line();
        Pl011 u = new Pl011("uart", line, new ByteArrayOutputStream());
        u.write(0x038, 4, 0x50); // IMSC: RXIM (bit 4) | RTIM (bit 6)
        PipedOutputStream feed = new PipedOutputStream();
        u.startInput(new PipedInputStream(feed, 64));
        byte[] data = new byte[40];
        for (int i = 0; i < data.length; i++) data[i] = (byte) ('A' + i);
        feed.write(data);
        feed.flush();
        while (u.pendingInput() < 16) Thread.sleep(5);
        Thread.sleep(50);
        assertEquals(16, u.pendingInput(), "the FIFO holds 16 bytes; the rest waits in the stream");
        assertEquals(0x40 | 0x80, u.read(0x018, 4), "FR: RXFF and TXFE");
        assertEquals(0x50, u.read(0x040, 4), "MIS: RX and RT pending");
        assertTrue(line.level);
        StringBuilder got = new StringBuilder();
        while (got.length() < data.length) {
            if ((u.read(0x018, 4) & 0x10) == 0) got.append((char) u.read(0x000, 4));
            else Thread.sleep(1);
        }
        assertEquals(new String(data), got.toString());
        assertEquals(0x90, u.read(0x018, 4));
        assertFalse(line.level, "drained FIFO drops the receive interrupts");
        u.close();
        feed.close();
    }

    @Test
    void configurationRegistersReadBack() {
        Pl011 u = new Pl011("uart", new Line(), new ByteArrayOutputStream());
        assertEquals(0x300, u.read(0x030, 4), "CR reset: TXE | RXE");
        u.write(0x024, 4, 0x1a);  // IBRD
        u.write(0x028, 4, 0x3f);  // FBRD
        u.write(0x02c, 4, 0x70);  // LCR_H: 8 bits, FIFO enable
        u.write(0x030, 4, 0x301); // CR: UARTEN | TXE | RXE
        assertEquals(0x1a, u.read(0x024, 4));
        assertEquals(0x3f, u.read(0x028, 4));
        assertEquals(0x70, u.read(0x02c, 4));
        assertEquals(0x301, u.read(0x030, 4));
    }

    @Property(tries = 3000)
    void anyAccessIsAnsweredWithoutThrowing(@ForAll long offset, @ForAll @IntRange(min = 1, max = 8) int size,
                                            @ForAll long value, @ForAll boolean write) throws IOException {
        Pl011 u = new Pl011("uart", new Line(), new ByteArrayOutputStream());
        if (write) u.write(offset, size, value);
        else u.read(offset, size);
        u.read(offset & 0xffc, 4);
    }
}
