package org.jvmm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** What reaches the terminal of the guest's console output, written in any pieces. */
class GuestOutputTest {

    /** Writes {@code text} in pieces of the given sizes (the rest in one), then closes; returns what came out. */
    private static String through(boolean terminalAddsCr, String text, List<Integer> pieces) throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        GuestOutput out = new GuestOutput(sink);
        out.terminalAddsCarriageReturn(terminalAddsCr);
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        int at = 0;
        for (int size : pieces) {
            int n = Math.min(size, b.length - at);
            if (n == 1) out.write(b[at]); else out.write(b, at, n);
            out.flush(); // as the UARTs do after every byte: must not decide a held CR
            at += n;
        }
        out.write(b, at, b.length - at);
        out.close();
        return sink.toString(StandardCharsets.ISO_8859_1);
    }

    /** A terminal with OPOST and ONLCR: every LF goes out as CR LF. */
    private static String onlcr(String s) {
        return s.replace("\n", "\r\n");
    }

    @Test
    void aGuestLineReachesATranslatingTerminalAsOneCrLf() throws IOException {
        String guest = "Linux version 6.1\r\nJVMM-GUEST-UP\r\n";
        String written = through(true, guest, List.of(1, 1, 1, 20, 1));
        assertEquals("Linux version 6.1\nJVMM-GUEST-UP\n", written);
        assertEquals(guest, onlcr(written), "the terminal shows exactly the guest's bytes");
    }

    @Test
    void aCrSplitFromItsLfAcrossWritesIsStillDropped() throws IOException {
        assertEquals("a\nb", through(true, "a\r\nb", List.of(2)));
    }

    @Test
    void crsThatAreNotLineEndsStay() throws IOException {
        assertEquals("\r50%\r\r\nx\r", through(true, "\r50%\r\r\r\nx\r", List.of(1, 4, 1, 1)));
    }

    @Test
    void withoutATranslatingTerminalEveryByteGoesThrough() throws IOException {
        assertEquals("a\r\r\nb\r\n\r", through(false, "a\r\r\nb\r\n\r", List.of(1, 2, 1)));
    }

    @Property(tries = 10_000)
    void theTerminalShowsWhatTheGuestSent(@ForAll("guestText") String guest, @ForAll("pieces") List<Integer> pieces)
            throws IOException {
        // A guest console sends CR LF line ends; anything else (a lone CR, CR CR LF) must survive too.
        String crlfGuest = guest.replace("\n", "\r\n");
        assertEquals(crlfGuest, onlcr(through(true, crlfGuest, pieces)));
        assertEquals(guest.replace("\r\n", "\n"), through(true, guest, pieces));
        assertEquals(guest, through(false, guest, pieces));
    }

    @Provide
    Arbitrary<String> guestText() {
        return Arbitraries.strings().withChars('\r', '\n', 'a', '%', '\u00ff').ofMaxLength(40);
    }

    @Provide
    Arbitrary<List<Integer>> pieces() {
        return Arbitraries.integers().between(0, 6).list().ofMaxSize(12);
    }
}
