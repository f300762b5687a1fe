package org.jvmm.cli;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The guest's console output (serial port and virtio-console alike) on its way to jvmm's standard output,
 * so that a terminal shows exactly the bytes the guest sent.
 *
 * <p>A guest's console already ends its lines with CR LF (Linux's serial and hvc consoles turn {@code \n}
 * into {@code \r\n}, and so does the guest's tty layer). A terminal with output processing and
 * {@code ONLCR} turns each LF into CR LF once more, so a guest line arrived as {@code \r\r\n}: invisible on
 * the screen, but a blank line after every line wherever the terminal's output is read back by a program
 * that takes a lone CR as a line end (Java's {@code readLine}, Python's universal newlines, a log of a
 * nested machine's serial line). jvmm keeps output processing on for its own messages on standard error,
 * and cannot change a terminal that is only its standard output, so when the terminal adds the CR itself
 * ({@link #terminalAddsCarriageReturn}) this stream drops a CR that comes right before a LF.
 *
 * <p>Whether a CR is followed by a LF is known only with the next byte, and the UARTs write byte by byte,
 * so a CR at the end of a write is held until the next byte arrives; {@link #flush()} keeps holding it
 * (a CR alone moves only the cursor) and {@link #close()} writes it. Thread-safe: the serial port's vCPU
 * thread and the virtio-console's transmit thread may write at once.
 */
final class GuestOutput extends OutputStream {

    private static final int CR = '\r', LF = '\n';

    private final OutputStream out;
    private volatile boolean terminalAddsCarriageReturn;
    private boolean heldCr; // guarded by this

    /** Passes everything through to {@code out} until told that {@code out} is a terminal adding CRs. */
    GuestOutput(OutputStream out) {
        this.out = out;
    }

    /** Whether the output is a terminal that turns LF into CR LF (OPOST and ONLCR): then CR LF is written as LF. */
    void terminalAddsCarriageReturn(boolean adds) {
        terminalAddsCarriageReturn = adds;
    }

    @Override
    public synchronized void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) return;
        if (!terminalAddsCarriageReturn) {
            releaseHeldCr();
            out.write(b, off, len);
            return;
        }
        byte[] kept = new byte[len + 1];
        int n = 0;
        for (int i = off; i < off + len; i++) {
            int c = b[i] & 0xff;
            if (heldCr && c != LF) kept[n++] = CR; // the held CR was not part of a CR LF: it stays
            heldCr = c == CR;
            if (!heldCr) kept[n++] = (byte) c;
        }
        out.write(kept, 0, n);
    }

    private void releaseHeldCr() throws IOException {
        if (heldCr) {
            heldCr = false;
            out.write(CR);
        }
    }

    /** Flushes what was written, except a held CR (see the class comment). */
    @Override
    public synchronized void flush() throws IOException {
        out.flush();
    }

    /** Writes a held CR and flushes; the underlying stream (jvmm's standard output) stays open. */
    @Override
    public synchronized void close() throws IOException {
        releaseHeldCr();
        out.flush();
    }
}
