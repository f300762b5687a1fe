package org.jvmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * An image file on Linux: I/O straight between the file and the caller's memory (guest RAM) through
 * libc's {@code pread}/{@code pwrite} on one descriptor, which also holds the image's OFD lock. No JDK
 * channel and no second open: the descriptor may be one a helper process was handed, reachable by no
 * path it could open.
 *
 * <p>The kernel may transfer fewer bytes than asked (a signal, a very large request, a file system's
 * choice) and may fail a call with EINTR; both are retried until the whole range is done. A read that
 * meets the end of the file and a write that makes no progress are errors, never a loop.
 */
final class DescriptorFile implements ImageFile {

    /** {@code <errno.h>}: the file system cannot punch holes. */
    private static final int EOPNOTSUPP = 95;

    private final int fd;
    private final String name;
    private final FileCalls calls;

    /** Takes over {@code fd}; {@code name} is for messages. */
    DescriptorFile(int fd, String name, FileCalls calls) {
        this.fd = fd;
        this.name = name;
        this.calls = calls;
    }

    int fd() {
        return fd;
    }

    @Override
    public void read(long position, MemorySegment dst) throws IOException {
        if (!dst.isNative()) {
            // A heap segment cannot be handed to a downcall; guest RAM never is one, tests may be.
            try (Arena a = Arena.ofConfined()) {
                MemorySegment bounce = a.allocate(Math.max(1, dst.byteSize()));
                read(position, bounce.asSlice(0, dst.byteSize()));
                dst.copyFrom(bounce.asSlice(0, dst.byteSize()));
            }
            return;
        }
        long size = dst.byteSize();
        for (long done = 0; done < size; ) {
            long n;
            try {
                n = calls.pread(fd, dst.asSlice(done), position + done);
            } catch (SysException e) {
                if (e.errno() == Errno.EINTR) continue;
                throw new IOException(name + ": " + e.getMessage(), e);
            }
            if (n == 0) throw new IOException(name + " ended at " + (position + done));
            if (n < 0 || n > size - done) throw new IOException(name + ": pread returned " + n + " for " + (size - done) + " bytes");
            done += n;
        }
    }

    @Override
    public void write(long position, MemorySegment src) throws IOException {
        if (!src.isNative()) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment bounce = a.allocate(Math.max(1, src.byteSize())).asSlice(0, src.byteSize());
                bounce.copyFrom(src);
                write(position, bounce);
            }
            return;
        }
        long size = src.byteSize();
        for (long done = 0; done < size; ) {
            long n;
            try {
                n = calls.pwrite(fd, src.asSlice(done), position + done);
            } catch (SysException e) {
                if (e.errno() == Errno.EINTR) continue;
                throw new IOException(name + ": " + e.getMessage(), e);
            }
            // pwrite of a non-empty buffer returning 0 would repeat forever; the kernel never does it for
            // a regular file, so it is an error rather than a retry.
            if (n <= 0 || n > size - done) throw new IOException(name + ": pwrite returned " + n + " for " + (size - done) + " bytes");
            done += n;
        }
    }

    @Override
    public void flush() throws IOException {
        while (true) {
            try {
                calls.fdatasync(fd);
                return;
            } catch (SysException e) {
                if (e.errno() != Errno.EINTR) throw new IOException(name + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public boolean punchHole(long position, long length) throws IOException {
        while (true) {
            try {
                calls.fallocate(fd, LinuxLibc.FALLOC_FL_PUNCH_HOLE | LinuxLibc.FALLOC_FL_KEEP_SIZE, position, length);
                return true;
            } catch (SysException e) {
                if (e.errno() == EOPNOTSUPP) return false;
                if (e.errno() != Errno.EINTR) throw new IOException(name + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public void close() {
        // Closing the last descriptor of the locked open file description releases the OFD lock; a helper's
        // copy of it keeps the lock until that copy is closed too.
        LinuxLibc.close(fd);
    }
}
