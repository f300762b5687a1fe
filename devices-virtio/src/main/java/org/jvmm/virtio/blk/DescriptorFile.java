package org.jvmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.SysException;

/**
 * An image file: I/O straight between the file and the caller's memory (guest RAM) through libc's
 * {@code pread}/{@code pwrite} on one descriptor, which also holds the image's lock. No JDK channel and no
 * second open: the descriptor may be one a helper process was handed, reachable by no path it could open.
 *
 * <p>The kernel may transfer fewer bytes than asked (a signal, a very large request, a file system's
 * choice) and may fail a call with EINTR; both are retried until the whole range is done. A read that
 * meets the end of the file and a write that makes no progress are errors, never a loop.
 */
final class DescriptorFile {

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

    /** Fills all of {@code dst} from {@code position}; the end of the file before that is an error. */
    void read(long position, MemorySegment dst) throws IOException {
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
                if (Posix.interrupted(e)) continue;
                throw new IOException(name + ": " + e.getMessage(), e);
            }
            if (n == 0) throw new IOException(name + " ended at " + (position + done));
            if (n < 0 || n > size - done) throw new IOException(name + ": pread returned " + n + " for " + (size - done) + " bytes");
            done += n;
        }
    }

    /** Writes all of {@code src} at {@code position}. */
    void write(long position, MemorySegment src) throws IOException {
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
                if (Posix.interrupted(e)) continue;
                throw new IOException(name + ": " + e.getMessage(), e);
            }
            // pwrite of a non-empty buffer returning 0 would repeat forever; the kernel never does it for
            // a regular file, so it is an error rather than a retry.
            if (n <= 0 || n > size - done) throw new IOException(name + ": pwrite returned " + n + " for " + (size - done) + " bytes");
            done += n;
        }
    }

    /** Makes written data durable. */
    void flush() throws IOException {
        while (true) {
            try {
                calls.syncData(fd);
                return;
            } catch (SysException e) {
                if (!Posix.interrupted(e)) throw new IOException(name + ": " + e.getMessage(), e);
            }
        }
    }

    /** Whether {@link #punchHole} can ever deallocate on this host. */
    boolean canPunchHoles() {
        return calls.canPunchHoles();
    }

    /**
     * Deallocates {@code [position, position + length)}, keeping the size, so that it reads as zeroes;
     * false if this file cannot (then nothing changed).
     */
    boolean punchHole(long position, long length) throws IOException {
        if (!calls.canPunchHoles()) return false;
        while (true) {
            try {
                calls.punchHole(fd, position, length);
                return true;
            } catch (SysException e) {
                if (e.errnoName().equals("EOPNOTSUPP")) return false; // this file system cannot
                if (!Posix.interrupted(e)) throw new IOException(name + ": " + e.getMessage(), e);
            }
        }
    }

    /** Releases the descriptor; called once. */
    void close() {
        // Closing the last descriptor of the locked open file description releases its lock (an OFD lock on
        // Linux, a flock on macOS); a helper's copy of it keeps the lock until that copy is closed too.
        Posix.close(fd);
    }
}
