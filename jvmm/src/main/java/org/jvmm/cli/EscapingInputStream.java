package org.jvmm.cli;

import java.io.IOException;
import java.io.InputStream;

/**
 * The terminal's input as the guest sees it: filtered through {@link ConsoleEscape}. When the user types
 * Ctrl-A x the stream runs {@code onTerminate} once and then reports end of input.
 */
final class EscapingInputStream extends InputStream {

    private final InputStream in;
    private final Runnable onTerminate;
    private final ConsoleEscape escape = new ConsoleEscape();
    private final byte[] raw = new byte[256];
    // Each raw byte yields at most two guest bytes.
    private final byte[] pending = new byte[2 * raw.length];
    private final byte[] pair = new byte[2];
    private int pendingStart;
    private int pendingEnd;
    private boolean ended;

    EscapingInputStream(InputStream in, Runnable onTerminate) {
        this.in = in;
        this.onTerminate = onTerminate;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public synchronized int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) return 0;
        while (pendingStart == pendingEnd) {
            if (ended) return -1;
            int n = in.read(raw, 0, raw.length);
            if (n < 0) {
                ended = true;
                return -1;
            }
            pendingStart = pendingEnd = 0;
            for (int i = 0; i < n; i++) {
                int produced = escape.feed(raw[i], pair);
                if (produced == ConsoleEscape.TERMINATE) {
                    ended = true;
                    onTerminate.run();
                    break;
                }
                for (int j = 0; j < produced; j++) pending[pendingEnd++] = pair[j];
            }
        }
        int n = Math.min(len, pendingEnd - pendingStart);
        System.arraycopy(pending, pendingStart, b, off, n);
        pendingStart += n;
        return n;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
