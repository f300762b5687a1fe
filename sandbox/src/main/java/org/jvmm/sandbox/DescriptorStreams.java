package org.jvmm.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.Posix;

/**
 * Blocking byte streams over a raw descriptor received from another process (Java cannot wrap a
 * descriptor number in its own streams): the console helper's terminal relay, and jvmm's end of it.
 */
final class DescriptorStreams {

    private DescriptorStreams() {}

    /** Reads {@code fd} until end of file (or until the descriptor fails, which counts as the end). */
    static InputStream input(int fd) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) == 1 ? one[0] & 0xff : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) return 0;
                while (true) {
                    try {
                        int n = Posix.read(fd, b, off, len);
                        return n == 0 ? -1 : n;
                    } catch (SysException e) {
                        if (Posix.interrupted(e)) continue;
                        if (Posix.wouldBlock(e)) {
                            Posix.poll(new int[] {fd}, Posix.POLLIN, -1);
                            continue;
                        }
                        return -1;
                    }
                }
            }
        };
    }

    /** Writes everything to {@code fd}; a failed write (the reader is gone) is an IOException. */
    static OutputStream output(int fd) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                while (len > 0) {
                    try {
                        int n = Posix.write(fd, b, off, len);
                        off += n;
                        len -= n;
                    } catch (SysException e) {
                        if (Posix.interrupted(e)) continue;
                        throw new IOException(e.getMessage(), e);
                    }
                }
            }
        };
    }
}
