package org.jvmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A raw disk image file: byte {@code n} of the file is byte {@code n} of the disk.
 *
 * <p>A writable image is locked exclusively (a POSIX record lock, {@link FileChannel#tryLock()}), so two
 * VMs, or two disks of one VM, cannot both write it; a read-only image takes no lock, so it can be
 * inspected while another VM owns it (it may then see that VM's writes). The size is fixed when the
 * image is opened.
 *
 * <p>Thread-safe: positional reads and writes share no file pointer.
 */
public final class DiskImage implements AutoCloseable {

    private static final int ZERO_CHUNK = 64 * 1024;
    /** {@code <errno.h>}: the file system cannot punch holes. */
    private static final int EOPNOTSUPP = 95;

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final boolean readOnly;
    private final long size;
    /** A descriptor of the same file for fallocate (Linux, writable images), or -1. */
    private final int punchFd;

    private DiskImage(Path path, FileChannel channel, FileLock lock, boolean readOnly, long size, int punchFd) {
        this.path = path;
        this.punchFd = punchFd;
        this.channel = channel;
        this.lock = lock;
        this.readOnly = readOnly;
        this.size = size;
    }

    /**
     * Opens {@code path}, read-only or read-write.
     *
     * @throws ConfigurationException if it is missing, not a regular file, not accessible, or locked
     */
    public static DiskImage open(Path path, boolean readOnly) {
        if (!Files.isRegularFile(path)) {
            throw new ConfigurationException("Disk image " + path + " does not exist or is not a regular file: check the --disk path.");
        }
        // FileChannel cannot punch holes, so on Linux a writable image is opened with libc first and the
        // channel through /proc/self/fd, which names that very file (no rename can slip in between).
        int punchFd = -1;
        Path channelPath = path;
        if (!readOnly && "Linux".equals(System.getProperty("os.name"))) {
            try {
                punchFd = LinuxLibc.open(path.toString(), LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
                channelPath = Path.of("/proc/self/fd/" + punchFd);
            } catch (SysException e) {
                punchFd = -1; // the channel's open below says what is wrong
            }
        }
        FileChannel channel;
        try {
            channel = readOnly ? FileChannel.open(channelPath, StandardOpenOption.READ)
                    : FileChannel.open(channelPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            if (punchFd >= 0) LinuxLibc.close(punchFd);
            throw openFailure(path, readOnly, e);
        }
        try {
            FileLock lock = null;
            if (!readOnly) {
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null; // this JVM already holds it: another disk of this VM
                }
                if (lock == null) {
                    throw new ConfigurationException("Disk image " + path + " is locked by another process: stop the other VM or pass ,ro.");
                }
            }
            return new DiskImage(path, channel, lock, readOnly, channel.size(), punchFd);
        } catch (IOException e) {
            closeQuietly(channel);
            if (punchFd >= 0) LinuxLibc.close(punchFd);
            throw new ConfigurationException("Disk image " + path + " cannot be locked (" + e.getMessage() + "): check the file system supports locks.", e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            if (punchFd >= 0) LinuxLibc.close(punchFd);
            throw e;
        }
    }

    private static ConfigurationException openFailure(Path path, boolean readOnly, IOException e) {
        if (e instanceof AccessDeniedException) {
            return new ConfigurationException("Disk image " + path + " is not " + (readOnly ? "readable" : "writable")
                    + ": fix its permissions" + (readOnly ? "." : " or pass ,ro."), e);
        }
        if (e instanceof NoSuchFileException) {
            return new ConfigurationException("Disk image " + path + " does not exist: check the --disk path.", e);
        }
        return new ConfigurationException("Disk image " + path + " cannot be opened (" + e.getMessage() + "): check the --disk path.", e);
    }

    /** The image's path. */
    public Path path() {
        return path;
    }

    /** Whether the image was opened read-only. */
    public boolean readOnly() {
        return readOnly;
    }

    /** The image's size in bytes when it was opened. */
    public long size() {
        return size;
    }

    /** Fills {@code dst} from the image at {@code position}; a short file is an error. */
    public void read(long position, MemorySegment dst) throws IOException {
        ByteBuffer buf = dst.asByteBuffer();
        while (buf.hasRemaining()) {
            int n = channel.read(buf, position + buf.position());
            if (n < 0) throw new IOException(path + " ended at " + (position + buf.position()));
        }
    }

    /** Writes all of {@code src} to the image at {@code position}. */
    public void write(long position, MemorySegment src) throws IOException {
        ByteBuffer buf = src.asByteBuffer();
        while (buf.hasRemaining()) {
            channel.write(buf, position + buf.position());
        }
    }

    /** Makes written data durable: {@code fdatasync}. */
    public void flush() throws IOException {
        channel.force(false);
    }

    /**
     * Makes {@code [position, position + length)} read as zeroes. Chunks that already read as zero are
     * left alone, so holes in a sparse image stay holes.
     */
    public void writeZeroes(long position, long length) throws IOException {
        ByteBuffer current = ByteBuffer.allocate(ZERO_CHUNK);
        ByteBuffer zeroes = ByteBuffer.allocate(ZERO_CHUNK);
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(ZERO_CHUNK, length - done);
            current.clear().limit(n);
            while (current.hasRemaining()) {
                if (channel.read(current, position + done + current.position()) < 0) break;
            }
            if (!isZero(current.array(), current.position())) {
                zeroes.clear().limit(n);
                while (zeroes.hasRemaining()) channel.write(zeroes, position + done + zeroes.position());
            }
            done += n;
        }
    }

    /**
     * Discards {@code [position, position + length)}: afterwards it reads as zeroes.
     *
     * <p>On Linux the range is deallocated ({@code fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)}),
     * which frees the space; where that is not possible (another OS, a file system without hole
     * punching) zeroes are written over data that is not already zero, which keeps the semantics.
     */
    public void discard(long position, long length) throws IOException {
        if (length == 0) return; // fallocate refuses an empty range (EINVAL); there is nothing to do
        if (punchFd >= 0) {
            try {
                LinuxLibc.fallocate(punchFd, LinuxLibc.FALLOC_FL_PUNCH_HOLE | LinuxLibc.FALLOC_FL_KEEP_SIZE, position, length);
                return;
            } catch (SysException e) {
                if (e.errno() != EOPNOTSUPP) throw new IOException(e.getMessage(), e);
            }
        }
        writeZeroes(position, length);
    }

    private static boolean isZero(byte[] bytes, int length) {
        for (int i = 0; i < length; i++) if (bytes[i] != 0) return false;
        return true;
    }

    @Override
    public void close() {
        try {
            if (lock != null) lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it anyway
        }
        closeQuietly(channel);
        // After the channel: closing any descriptor of the file drops this process's POSIX locks on it.
        if (punchFd >= 0) LinuxLibc.close(punchFd);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do with a descriptor that will not close
        }
    }
}
