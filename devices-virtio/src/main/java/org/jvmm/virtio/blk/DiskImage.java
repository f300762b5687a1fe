package org.jvmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * <p>On Linux all I/O goes through that one locked descriptor with libc's {@code pread}/{@code pwrite}
 * straight into the caller's memory, and {@link #descriptor()} hands the descriptor to a device helper
 * process: SCM_RIGHTS gives the helper the same open file description, so the lock travels with it, jvmm
 * keeps its own copy for the VM's life (no window in which another VM could take the image), and the
 * helper {@link #adopt adopts} the descriptor without opening anything.
 *
 * <p>The size is fixed when the image is opened. Thread-safe: positional reads and writes share no file
 * pointer.
 */
public final class DiskImage implements AutoCloseable {

    private static final int ZERO_CHUNK = 64 * 1024;
    /** {@code <errno.h>}: a read-only file system. */
    private static final int EROFS = 30;
    /** {@code <fcntl.h>}: the access-mode bits of the file status flags. */
    private static final int O_ACCMODE = 3;
    private static final boolean LINUX = "Linux".equals(System.getProperty("os.name"));

    private final Path path;
    private final ImageFile file;
    private final boolean readOnly;
    private final long size;
    private final AtomicBoolean closed = new AtomicBoolean();

    private DiskImage(Path path, ImageFile file, boolean readOnly, long size) {
        this.path = path;
        this.file = file;
        this.readOnly = readOnly;
        this.size = size;
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

    /**
     * Takes over {@code fd}, an image descriptor handed to this process (a helper's), and locks it like
     * {@link #open}: if the descriptor shares the open file description that jvmm locked, the lock is
     * already this descriptor's and taking it again changes nothing; an unlocked descriptor gets the lock
     * here, or the image is refused if another user holds it. {@code path} only names the image in messages
     * and in {@link #path()}. Linux only. The descriptor is closed if this fails.
     *
     * @throws ConfigurationException if the descriptor is not open for what {@code readOnly} asks, or locked
     */
    public static DiskImage adopt(int fd, Path path, boolean readOnly) {
        if (!LINUX) {
            throw new ConfigurationException("Handing a disk image over as a descriptor needs Linux: use --sandbox=none here.");
        }
        try {
            int mode;
            try {
                mode = LinuxLibc.fcntl(fd, LinuxLibc.F_GETFL, 0) & O_ACCMODE;
            } catch (SysException e) {
                throw new ConfigurationException("Disk descriptor " + fd + " for " + path + " is not open (" + e.errnoName() + "): hand over an open image descriptor.", e);
            }
            if (!readOnly && mode == LinuxLibc.O_RDONLY) {
                throw new ConfigurationException("Disk descriptor " + fd + " for " + path + " is open read-only: pass --ro or hand over a read-write descriptor.");
            }
            if (mode == LinuxLibc.O_WRONLY) {
                throw new ConfigurationException("Disk descriptor " + fd + " for " + path + " is open write-only: hand over a descriptor open for reading.");
            }
            lock(fd, path, readOnly);
            return new DiskImage(path, new DescriptorFile(fd, path.toString(), FileCalls.LIBC), readOnly, LinuxLibc.fstatSize(fd));
        } catch (RuntimeException e) {
            LinuxLibc.close(fd);
            throw e;
        }
    }

    /** An image on {@code fd} whose libc calls are {@code calls}: for tests of the I/O loops. */
    static DiskImage onDescriptor(int fd, Path path, boolean readOnly, long size, FileCalls calls) {
        return new DiskImage(path, new DescriptorFile(fd, path.toString(), calls), readOnly, size);
    }

    private static DiskImage openWithOfdLock(Path path, boolean readOnly) {
        int fd;
        try {
            fd = LinuxLibc.open(path.toString(), (readOnly ? LinuxLibc.O_RDONLY : LinuxLibc.O_RDWR) | LinuxLibc.O_CLOEXEC, 0);
        } catch (SysException e) {
            throw openFailure(path, readOnly, e.errno(), e);
        }
        try {
            lock(fd, path, readOnly);
            return new DiskImage(path, new DescriptorFile(fd, path.toString(), FileCalls.LIBC), readOnly, LinuxLibc.fstatSize(fd));
        } catch (RuntimeException e) {
            LinuxLibc.close(fd);
            throw e;
        }
    }

    /** Takes the image's OFD lock on {@code fd}: shared for a read-only image, exclusive otherwise. */
    private static void lock(int fd, Path path, boolean readOnly) {
        try {
            LinuxLibc.fcntlLock(fd, LinuxLibc.F_OFD_SETLK, readOnly ? LinuxLibc.F_RDLCK : LinuxLibc.F_WRLCK, 0, 0);
        } catch (SysException e) {
            if (e.errno() == Errno.EAGAIN || e.errno() == Errno.EACCES) throw locked(path, readOnly);
            throw new ConfigurationException("Disk image " + path + " cannot be locked (" + e.getMessage()
                    + "): keep disk images on a file system that supports locks.", e);
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
        FileLock lock = null;
        try {
            if (!readOnly) {
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null; // this JVM already holds it: another disk of this VM
                }
                if (lock == null) throw locked(path, false);
            }
            return new DiskImage(path, new ChannelFile(channel, lock, path.toString()), readOnly, channel.size());
        } catch (IOException e) {
            new ChannelFile(channel, lock, path.toString()).close();
            throw new ConfigurationException("Disk image " + path + " cannot be locked (" + e.getMessage()
                    + "): keep disk images on a file system that supports locks.", e);
        } catch (RuntimeException e) {
            new ChannelFile(channel, lock, path.toString()).close();
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

    /**
     * The libc descriptor that holds the image and its lock, to hand to a device helper process (SCM_RIGHTS
     * shares the open file description, and with it the lock); it stays this image's, open until
     * {@link #close()}. -1 where images are not opened through libc (macOS).
     */
    public int descriptor() {
        return file instanceof DescriptorFile d ? d.fd() : -1;
    }

    /** Fills {@code dst} from the image at {@code position}; a short file is an error. */
    public void read(long position, MemorySegment dst) throws IOException {
        file.read(position, dst);
    }

    /** Writes all of {@code src} to the image at {@code position}. */
    public void write(long position, MemorySegment src) throws IOException {
        file.write(position, src);
    }

    /** Makes written data durable: {@code fdatasync}. */
    public void flush() throws IOException {
        file.flush();
    }

    /**
     * Makes {@code [position, position + length)} read as zeroes. Chunks that already read as zero are
     * left alone, so holes in a sparse image stay holes.
     */
    public void writeZeroes(long position, long length) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment current = a.allocate(ZERO_CHUNK);
            MemorySegment zeroes = a.allocate(ZERO_CHUNK); // allocate zero-fills
            for (long done = 0; done < length; ) {
                int n = (int) Math.min(ZERO_CHUNK, length - done);
                file.read(position + done, current.asSlice(0, n));
                if (current.asSlice(0, n).mismatch(zeroes.asSlice(0, n)) >= 0) file.write(position + done, zeroes.asSlice(0, n));
                done += n;
            }
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
        if (!readOnly && file.punchHole(position, length)) return;
        writeZeroes(position, length);
    }

    /** Closes the image and releases its lock (once no helper holds a copy of the descriptor); a second call does nothing. */
    @Override
    public void close() {
        // Twice closing a descriptor number could close whatever file reused it meanwhile.
        if (closed.compareAndSet(false, true)) file.close();
    }
}
