package org.jvmm.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class ConsoleEscapeTest {

    /** What the guest receives for {@code typed}, and whether the escape ended the VM. */
    record Outcome(byte[] guest, boolean terminated) {}

    static Outcome feed(byte[] typed) {
        ConsoleEscape escape = new ConsoleEscape();
        ByteArrayOutputStream guest = new ByteArrayOutputStream();
        byte[] out = new byte[2];
        for (byte b : typed) {
            int n = escape.feed(b, out);
            if (n == ConsoleEscape.TERMINATE) return new Outcome(guest.toByteArray(), true);
            guest.write(out, 0, n);
        }
        return new Outcome(guest.toByteArray(), false);
    }

    /** Escapes {@code data} the way a user would type it: every Ctrl-A doubled. */
    static byte[] typedAs(byte[] data) {
        ByteArrayOutputStream typed = new ByteArrayOutputStream();
        for (byte b : data) {
            typed.write(b);
            if (b == ConsoleEscape.CTRL_A) typed.write(b);
        }
        return typed.toByteArray();
    }

    @Test
    void ctrlAXTerminates() {
        Outcome o = feed(new byte[] {'l', 's', 1, 'x', 'z'});
        assertTrue(o.terminated());
        assertArrayEquals(new byte[] {'l', 's'}, o.guest());
    }

    @Test
    void ctrlACtrlASendsOneCtrlA() {
        assertArrayEquals(new byte[] {1}, feed(new byte[] {1, 1}).guest());
    }

    @Test
    void ctrlAThenAnotherKeySendsBoth() {
        Outcome o = feed(new byte[] {1, 'c', 1, 'X'});
        assertFalse(o.terminated());
        assertArrayEquals(new byte[] {1, 'c', 1, 'X'}, o.guest());
    }

    @Test
    void aTrailingCtrlAIsHeldBack() {
        assertArrayEquals(new byte[] {'a'}, feed(new byte[] {'a', 1}).guest());
    }

    @Property
    void bytesWithoutCtrlAPassUnchanged(@ForAll byte[] data) {
        for (int i = 0; i < data.length; i++) if (data[i] == 1) data[i] = 2;
        Outcome o = feed(data);
        assertFalse(o.terminated());
        assertArrayEquals(data, o.guest());
    }

    /** Any byte string, Ctrl-As included, reaches the guest intact when its Ctrl-As are doubled. */
    @Property
    void doubledCtrlAsRoundTrip(@ForAll byte[] data) {
        Outcome o = feed(typedAs(data));
        assertFalse(o.terminated());
        assertArrayEquals(data, o.guest());
    }

    /** Ctrl-A x after any escaped text ends the VM and delivers exactly that text. */
    @Property
    void terminationAfterAnyText(@ForAll byte[] data, @ForAll byte[] after) {
        byte[] typed = typedAs(data);
        byte[] all = new byte[typed.length + 2 + after.length];
        System.arraycopy(typed, 0, all, 0, typed.length);
        all[typed.length] = 1;
        all[typed.length + 1] = 'x';
        System.arraycopy(after, 0, all, typed.length + 2, after.length);
        Outcome o = feed(all);
        assertTrue(o.terminated());
        assertArrayEquals(data, o.guest());
    }

    /** The stream gives the same bytes whatever chunks the terminal delivers them in. */
    @Property
    void streamIsIndependentOfChunking(@ForAll byte[] data, @ForAll @IntRange(min = 1, max = 7) int chunk)
            throws IOException {
        AtomicInteger terminations = new AtomicInteger();
        InputStream chunked = new ByteArrayInputStream(typedAs(data)) {
            @Override public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, chunk));
            }
        };
        try (EscapingInputStream in = new EscapingInputStream(chunked, terminations::incrementAndGet)) {
            assertArrayEquals(data, in.readAllBytes());
        }
        assertEquals(0, terminations.get());
    }

    @Test
    void streamEndsAndCallsBackOnceOnCtrlAX() throws IOException {
        AtomicInteger terminations = new AtomicInteger();
        InputStream typed = new ByteArrayInputStream(new byte[] {'o', 'k', 1, 'x', 'n', 'o'});
        try (EscapingInputStream in = new EscapingInputStream(typed, terminations::incrementAndGet)) {
            assertArrayEquals(new byte[] {'o', 'k'}, in.readAllBytes());
            assertEquals(-1, in.read());
        }
        assertEquals(1, terminations.get());
    }
}
