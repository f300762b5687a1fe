package org.jvmm.virtio.blk;

import java.lang.foreign.MemorySegment;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * The four libc calls a {@link DescriptorFile} makes, as an interface so that tests can answer them the
 * way the kernel may (short counts, EINTR) and check that the loops around them cope. Each throws
 * {@link org.jvmm.core.sys.SysException} with the errno on failure, as {@link LinuxLibc} does.
 */
interface FileCalls {

    /** {@code pread(fd, buffer, buffer.byteSize(), offset)}: the bytes read, 0 at the end of the file. */
    long pread(int fd, MemorySegment buffer, long offset);

    /** {@code pwrite(fd, buffer, buffer.byteSize(), offset)}: the bytes written. */
    long pwrite(int fd, MemorySegment buffer, long offset);

    /** {@code fdatasync(fd)}. */
    void fdatasync(int fd);

    /** {@code fallocate(fd, mode, offset, length)}. */
    void fallocate(int fd, int mode, long offset, long length);

    /** The real calls. */
    FileCalls LIBC = new FileCalls() {
        @Override public long pread(int fd, MemorySegment buffer, long offset) { return LinuxLibc.pread(fd, buffer, offset); }
        @Override public long pwrite(int fd, MemorySegment buffer, long offset) { return LinuxLibc.pwrite(fd, buffer, offset); }
        @Override public void fdatasync(int fd) { LinuxLibc.fdatasync(fd); }
        @Override public void fallocate(int fd, int mode, long offset, long length) { LinuxLibc.fallocate(fd, mode, offset, length); }
    };
}
