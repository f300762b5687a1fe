package org.jvmm.virtio.blk;

import java.lang.foreign.MemorySegment;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * The libc calls a {@link DescriptorFile} makes, as an interface so that tests can answer them the way the
 * kernel may (short counts, EINTR) and check that the loops around them cope. Each throws
 * {@link org.jvmm.core.sys.SysException} with the errno on failure, as the host's libc binding does.
 */
interface FileCalls {

    /** {@code pread(fd, buffer, buffer.byteSize(), offset)}: the bytes read, 0 at the end of the file. */
    long pread(int fd, MemorySegment buffer, long offset);

    /** {@code pwrite(fd, buffer, buffer.byteSize(), offset)}: the bytes written. */
    long pwrite(int fd, MemorySegment buffer, long offset);

    /** Makes written data durable ({@link Posix#syncData}: {@code fdatasync}, or {@code F_FULLFSYNC} on macOS). */
    void syncData(int fd);

    /** Whether {@link #punchHole} exists on this host at all; when false it is never called. */
    boolean canPunchHoles();

    /** Deallocates {@code [offset, offset + length)}, keeping the file's size ({@code fallocate(PUNCH_HOLE | KEEP_SIZE)}). */
    void punchHole(int fd, long offset, long length);

    /** The real calls. */
    FileCalls LIBC = new FileCalls() {
        @Override public long pread(int fd, MemorySegment buffer, long offset) { return Posix.pread(fd, buffer, offset); }
        @Override public long pwrite(int fd, MemorySegment buffer, long offset) { return Posix.pwrite(fd, buffer, offset); }
        @Override public void syncData(int fd) { Posix.syncData(fd); }

        // macOS has no fallocate, and its F_PUNCHHOLE (an fcntl taking a struct) has no binding in jvmm: VirtioBlock then offers no DISCARD.
        @Override public boolean canPunchHoles() { return !Posix.DARWIN; }

        @Override
        public void punchHole(int fd, long offset, long length) {
            LinuxLibc.fallocate(fd, LinuxLibc.FALLOC_FL_PUNCH_HOLE | LinuxLibc.FALLOC_FL_KEEP_SIZE, offset, length);
        }
    };
}
