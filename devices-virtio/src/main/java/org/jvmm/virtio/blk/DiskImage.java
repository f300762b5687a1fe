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
import java.util.concurrent.atomic.AtomicBoolean;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A raw disk image file: byte {@code n} of the file is byte {@code n} of the disk.
 *
 * <p>The image is locked for as long as it is open, so that no two users can corrupt it: a writable image
 * exclusively, a read-only one shared, so any number of readers may share an image nobody writes, but a
 * writer excludes readers (they would see a file system changing under them) and readers exclude a writer.
 * On Linux the locks are open file description locks ({@code fcntl F_OFD_SETLK} over the whole file):
 * they belong to this image's own descriptor, so a second open of the same file in this
 * process conflicts exactly as another process's would, and closing that second descriptor after a failed
 * open leaves the first one's lock alone. (POSIX record locks, which {@link FileChannel#tryLock()} takes,
 * are per process and vanish on any close of the file.) OFD locks and POSIX record locks conflict with
 * each other, so VMMs that take either kind are kept out.
 *
 * <p>Elsewhere (macOS) jvmm has no libc binding to take {@code flock(2)} locks, whose per-open-file
 * semantics would match, so a writable image takes the JDK's exclusive record lock, with the per-process
 * weakness above, and a read-only image takes none.
 *
 * <p>The size is fixed when the image is opened. Thread-safe: positional reads and writes share no file
 * pointer.
 */
public final class DiskImage implements AutoCloseable {

    private static final int ZERO_CHUNK = 64 * 1024;
    /** {@code <errno.h>}: the file system cannot punch holes; a read-only file system. */
    private static final int EOPNOTSUPP = 95, EROFS = 30;
    private static final boolean LINUX = "Linux".equals(System.getProperty("os.name"));

    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;
    private final long size;
    /**
     * On Linux, the libc descriptor that holds the OFD lock and punches holes (fallocate); it stays open
     * until {@link #close()}. -1 elsewhere.
     */
    private final int fd;
    /** Elsewhere, the JDK record lock of a writable image; null on Linux and for read-only images. */
    private final FileLock recordLock;
    private final AtomicBoolean closed = new AtomicBoolean();

    private DiskImage(Path path, FileChannel channel, boolean readOnly, int fd, FileLock recordLock) throws IOException {
        this.path = path;
        this.channel = channel;
        this.readOnly = readOnly;
        this.fd = fd;
        this.recordLock = recordLock;
        this.size = channel.size();
    }

    /**
     * Opens {@code path}, read-only or read-write, and locks it (see the class comment).
     *
     * @throws ConfigurationException if it is missing, not a regular file, not accessible, or locked
     */
    public static DiskImage open(Path path, boolean readOnly) {
        if (!Files.isRegularFile(path)) {
            throw new ConfigurationException("Disk image " + path + " does not exist or is not a regular file: check the --disk path.");
        }
        return LINUX ? openWithOfdLock(path, readOnly) : openWithRecordLock(path, readOnly);
    }

    private static DiskImage openWithOfdLock(Path path, boolean readOnly) {
        int fd;
        try {
            fd = LinuxLibc.open(path.toString(), (readOnly ? LinuxLibc.O_RDONLY : LinuxLibc.O_RDWR) | LinuxLibc.O_CLOEXEC, 0);
        } catch (SysException e) {
            throw openFailure(path, readOnly, e.errno(), e);
        }
        FileChannel channel = null;
        try {
            try {
                LinuxLibc.fcntlLock(fd, LinuxLibc.F_OFD_SETLK, readOnly ? LinuxLibc.F_RDLCK : LinuxLibc.F_WRLCK, 0, 0);
            } catch (SysException e) {
                if (e.errno() == Errno.EAGAIN || e.errno() == Errno.EACCES) throw locked(path, readOnly);
                throw new ConfigurationException("Disk image " + path + " cannot be locked (" + e.getMessage()
                        + "): keep disk images on a file system that supports locks.", e);
            }
            // The JDK reads and writes through a channel; /proc/self/fd names the very file the locked
            // descriptor has open, so no rename can slip a different file in between. The channel's own
            // open file description holds no lock, and closing it cannot drop the OFD lock.
            Path self = Path.of("/proc/self/fd/" + fd);
            channel = readOnly ? FileChannel.open(self, StandardOpenOption.READ)
                    : FileChannel.open(self, StandardOpenOption.READ, StandardOpenOption.WRITE);
            return new DiskImage(path, channel, readOnly, fd, null);
        } catch (IOException e) {
            if (channel != null) closeQuietly(channel);
            LinuxLibc.close(fd);
            throw openFailure(path, readOnly, e);
        } catch (RuntimeException e) {
            if (channel != null) closeQuietly(channel);
            LinuxLibc.close(fd);
            throw e;
        }
    }

    private static DiskImage openWithRecordLock(Path path, boolean readOnly) {
        FileChannel channel;
        try {
            channel = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
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
                if (lock == null) throw locked(path, false);
            }
            return new DiskImage(path, channel, readOnly, -1, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new ConfigurationException("Disk image " + path + " cannot be locked (" + e.getMessage()
                    + "): keep disk images on a file system that supports locks.", e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static ConfigurationException locked(Path path, boolean readOnly) {
        return new ConfigurationException(readOnly
                ? "Disk image " + path + " is locked by a VM or disk that writes it: stop that VM before reading the image."
                : "Disk image " + path + " is locked by another VM or disk: stop the other user, or pass ,ro if every user only reads it.");
    }

    private static ConfigurationException openFailure(Path path, boolean readOnly, int errno, Exception cause) {
        if (errno == Errno.EACCES || errno == Errno.EPERM || errno == EROFS) return notAccessible(path, readOnly, cause);
        if (errno == Errno.ENOENT) return missing(path, cause);
        return new ConfigurationException("Disk image " + path + " cannot be opened (" + cause.getMessage() + "): check the --disk path.", cause);
    }

    private static ConfigurationException openFailure(Path path, boolean readOnly, IOException e) {
        if (e instanceof AccessDeniedException) return notAccessible(path, readOnly, e);
        if (e instanceof NoSuchFileException) return missing(path, e);
        return new ConfigurationException("Disk image " + path + " cannot be opened (" + e.getMessage() + "): check the --disk path.", e);
    }

    private static ConfigurationException notAccessible(Path path, boolean readOnly, Exception cause) {
        return new ConfigurationException("Disk image " + path + " is not " + (readOnly ? "readable" : "writable")
                + ": fix its permissions" + (readOnly ? "." : " or pass ,ro."), cause);
    }

    private static ConfigurationException missing(Path path, Exception cause) {
        return new ConfigurationException("Disk image " + path + " does not exist: check the --disk path.", cause);
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
        if (fd >= 0 && !readOnly) {
            try {
                LinuxLibc.fallocate(fd, LinuxLibc.FALLOC_FL_PUNCH_HOLE | LinuxLibc.FALLOC_FL_KEEP_SIZE, position, length);
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

    /** Closes the image and releases its lock; a second call does nothing. */
    @Override
    public void close() {
        // Twice closing a descriptor number could close whatever file reused it meanwhile.
        if (!closed.compareAndSet(false, true)) return;
        try {
            if (recordLock != null) recordLock.release();
        } catch (IOException ignored) {
            // closing the channel releases it anyway
        }
        closeQuietly(channel);
        // The last descriptor of the locked open file description: closing it releases the OFD lock.
        if (fd >= 0) LinuxLibc.close(fd);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do with a descriptor that will not close
        }
    }
}
