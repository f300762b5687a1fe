package org.jvmm.cli;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A pseudo-terminal for {@code --console pty} (pty(7)): jvmm holds the master, the user attaches a
 * terminal program to {@link #path()}. The slave is put in raw mode, so the guest's bytes pass unchanged,
 * and jvmm keeps it open itself so the master neither reports EIO nor loses input while nobody is attached.
 */
final class Pty implements AutoCloseable {

    // <asm-generic/ioctls.h>
    private static final long TIOCGPTN = 0x80045430L; // _IOR('T', 0x30, unsigned int)
    private static final long TIOCSPTLCK = 0x40045431L; // _IOW('T', 0x31, int)

    private final int master;
    private final int slave;
    private final String path;

    private Pty(int master, int slave, String path) {
        this.master = master;
        this.slave = slave;
        this.path = path;
    }

    /** Allocates a pseudo-terminal; a {@link ConfigurationException} if the host has none to give. */
    static Pty open() {
        int master;
        try {
            master = LinuxLibc.open("/dev/ptmx", LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
        } catch (SysException e) {
            throw new ConfigurationException("Cannot allocate a pseudo-terminal (" + e.errnoName()
                    + "): mount devpts on /dev/pts or use --console stdio.");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            LinuxLibc.ioctl(master, "TIOCSPTLCK", TIOCSPTLCK, n); // *n == 0: unlock the slave
            LinuxLibc.ioctl(master, "TIOCGPTN", TIOCGPTN, n);
            String path = "/dev/pts/" + n.get(ValueLayout.JAVA_INT, 0);
            int slave = LinuxLibc.open(path, LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC | 0400 /* O_NOCTTY */, 0);
            LinuxLibc.tcsetattr(slave, LinuxLibc.TCSANOW, LinuxLibc.cfmakeraw(LinuxLibc.tcgetattr(slave)));
            return new Pty(master, slave, path);
        } catch (SysException e) {
            LinuxLibc.close(master);
            throw new ConfigurationException("Cannot set up a pseudo-terminal (" + e.getMessage() + "): use --console stdio instead.");
        }
    }

    /** The slave's path, for the user's terminal program. */
    String path() {
        return path;
    }

    /** What the user types into the slave. */
    InputStream input() {
        return new InputStream() {
            @Override
            public int read() {
                byte[] b = new byte[1];
                return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                while (true) {
                    try {
                        int n = LinuxLibc.read(master, b, off, len);
                        return n == 0 ? -1 : n;
                    } catch (SysException e) {
                        if (e.errno() == Errno.EINTR) continue;
                        return -1;
                    }
                }
            }
        };
    }

    /** What the slave's reader sees. */
    OutputStream output() {
        return new OutputStream() {
            @Override
            public void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                for (int done = 0; done < len; ) {
                    try {
                        done += LinuxLibc.write(master, b, off + done, len - done);
                    } catch (SysException e) {
                        if (e.errno() != Errno.EINTR) return; // nobody can see it: dropped
                    }
                }
            }
        };
    }

    @Override
    public void close() {
        LinuxLibc.close(slave);
        LinuxLibc.close(master);
    }
}
