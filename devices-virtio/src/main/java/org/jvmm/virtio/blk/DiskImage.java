package org.jvmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.darwin.DarwinLibc;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A raw disk image file: byte {@code n} of the file is byte {@code n} of the disk.
 *
 * <p>The image is locked for as long as it is open, so that no two users can corrupt it: a writable image
 * exclusively, a read-only one shared, so any number of readers may share an image nobody writes, but a
 * writer excludes readers (they would see a file system changing under them) and readers exclude a writer.
 * The lock belongs to the open file description of this image's own descriptor, not to the process: a
 * second open of the same file in this process conflicts exactly as another process's would, closing that
 * second descriptor after a failed open leaves the first one's lock alone, and a descriptor handed to
 * another process carries the lock with it. (POSIX record locks, which {@link java.nio.channels.FileChannel#tryLock()}
 * takes, are per process and vanish on any close of the file, so they would do none of this.)
 * <ul>
 *   <li>On Linux the locks are open file description locks ({@code fcntl F_OFD_SETLK} over the whole
 *       file). OFD locks and POSIX record locks conflict with each other, so VMMs that take either kind
 *       are kept out.</li>
 *   <li>macOS has no OFD locks; its {@code flock(2)} locks ({@code LOCK_EX}, or {@code LOCK_SH} for a
 *       read-only image) also belong to the open file description, so they behave the same way between
 *       jvmm processes. Whether they also keep out a VMM that takes only POSIX record locks is up to the
 *       kernel; nothing here relies on it.</li>
 * </ul>
 *
 * <p>All I/O goes through that one locked descriptor with libc's {@code pread}/{@code pwrite} straight
 * into the caller's memory, and {@link #descriptor()} hands the descriptor to a device helper process:
 * SCM_RIGHTS gives the helper the same open file description, so the lock travels with it, jvmm keeps its
 * own copy for the VM's life (no window in which another VM could take the image), and the helper
 * {@link #adopt adopts} the descriptor without opening anything.
 *
 * <p>The size is fixed when the image is opened. Thread-safe: positional reads and writes share no file
 * pointer.
 */
public final class DiskImage implements AutoCloseable {

    private static final int ZERO_CHUNK = 64 * 1024;

    private final Path path;
    private final DescriptorFile file;
    private final boolean readOnly;
    private final long size;
    private final AtomicBoolean closed = new AtomicBoolean();

    private DiskImage(Path path, DescriptorFile file, boolean readOnly, long size) {
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
        int fd;
        try {
            fd = Posix.openFile(path.toString(), readOnly);
        } catch (SysException e) {
            throw openFailure(path, readOnly, e);
        }
        try {
            lock(fd, path, readOnly);
            return new DiskImage(path, new DescriptorFile(fd, path.toString(), FileCalls.LIBC), readOnly, Posix.fileSize(fd));
        } catch (RuntimeException e) {
            Posix.close(fd);
            throw e;
        }
    }

    /**
     * Takes over {@code fd}, an image descriptor handed to this process (a helper's), and locks it like
     * {@link #open}: if the descriptor shares the open file description that jvmm locked, the lock is
     * already this descriptor's and taking it again changes nothing; an unlocked descriptor gets the lock
     * here, or the image is refused if another user holds it. {@code path} only names the image in messages
     * and in {@link #path()}. The descriptor is closed if this fails.
     *
     * @throws ConfigurationException if the descriptor is not open for what {@code readOnly} asks, or locked
     */
    public static DiskImage adopt(int fd, Path path, boolean readOnly) {
        try {
            int mode;
            try {
                mode = Posix.accessMode(fd);
            } catch (SysException e) {
                throw new ConfigurationException("Disk descriptor " + fd + " for " + path + " is not open (" + e.errnoName() + "): hand over an open image descriptor.", e);
            }
            if (!readOnly && mode == Posix.O_RDONLY) {
                throw new ConfigurationException("Disk descriptor " + fd + " for " + path + " is open read-only: pass --ro or hand over a read-write descriptor.");
            }
            if (mode == Posix.O_WRONLY) {
                throw new ConfigurationException("Disk descriptor " + fd + " for " + path + " is open write-only: hand over a descriptor open for reading.");
            }
            lock(fd, path, readOnly);
            return new DiskImage(path, new DescriptorFile(fd, path.toString(), FileCalls.LIBC), readOnly, Posix.fileSize(fd));
        } catch (RuntimeException e) {
            Posix.close(fd);
            throw e;
        }
    }

    /** An image on {@code fd} whose libc calls are {@code calls}: for tests of the I/O loops. */
    static DiskImage onDescriptor(int fd, Path path, boolean readOnly, long size, FileCalls calls) {
        return new DiskImage(path, new DescriptorFile(fd, path.toString(), calls), readOnly, size);
    }

    /** Takes the image's lock on {@code fd}: shared for a read-only image, exclusive otherwise. */
    private static void lock(int fd, Path path, boolean readOnly) {
        try {
            if (Posix.DARWIN) {
                // A BSD flock lock is owned by the open file description (not the process, unlike a POSIX
                // record lock), as a Linux OFD lock is: a helper handed this descriptor over SCM_RIGHTS shares
                // the description and so holds the same lock, and its flock here with the same mode is granted
                // at once rather than conflicting with jvmm's. The lock goes when the description's last
                // descriptor closes, wherever that is.
                DarwinLibc.flock(fd, (readOnly ? DarwinLibc.LOCK_SH : DarwinLibc.LOCK_EX) | DarwinLibc.LOCK_NB);
            } else {
                LinuxLibc.fcntlLock(fd, LinuxLibc.F_OFD_SETLK, readOnly ? LinuxLibc.F_RDLCK : LinuxLibc.F_WRLCK, 0, 0);
            }
        } catch (SysException e) {
            // A held lock: EWOULDBLOCK from flock (EAGAIN on macOS), EAGAIN or, as POSIX allows, EACCES from fcntl.
            if (Posix.wouldBlock(e) || (!Posix.DARWIN && e.errnoName().equals("EACCES"))) throw locked(path, readOnly);
            throw new ConfigurationException("Disk image " + path + " cannot be locked (" + e.getMessage()
                    + "): keep disk images on a file system that supports locks.", e);
        }
    }

    private static ConfigurationException locked(Path path, boolean readOnly) {
        return new ConfigurationException(readOnly
                ? "Disk image " + path + " is locked by a VM or disk that writes it: stop that VM before reading the image."
                : "Disk image " + path + " is locked by another VM or disk: stop the other user, or pass ,ro if every user only reads it.");
    }

    /** The sentence for a failed open, by the error's name: the numbers differ between Linux and macOS. */
    static ConfigurationException openFailure(Path path, boolean readOnly, SysException e) {
        return switch (e.errnoName()) {
            case "EACCES", "EPERM", "EROFS" -> new ConfigurationException("Disk image " + path + " is not " + (readOnly ? "readable" : "writable")
                    + ": fix its permissions" + (readOnly ? "." : " or pass ,ro."), e);
            case "ENOENT" -> new ConfigurationException("Disk image " + path + " does not exist: check the --disk path.", e);
            default -> new ConfigurationException("Disk image " + path + " cannot be opened (" + e.getMessage() + "): check the --disk path.", e);
        };
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
     * {@link #close()}.
     */
    public int descriptor() {
        return file.fd();
    }

    /** Fills {@code dst} from the image at {@code position}; a short file is an error. */
    public void read(long position, MemorySegment dst) throws IOException {
        file.read(position, dst);
    }

    /** Writes all of {@code src} to the image at {@code position}. */
    public void write(long position, MemorySegment src) throws IOException {
        file.write(position, src);
    }

    /** Makes written data durable: {@code fdatasync} on Linux, {@code fcntl(F_FULLFSYNC)} on macOS. */
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
     * Whether {@link #discard} gives the space back to the host, so that offering virtio's DISCARD is worth
     * it: on Linux (where a file system that cannot punch holes still gets the range zeroed), not on macOS.
     */
    boolean discardFreesSpace() {
        return !readOnly && file.canPunchHoles();
    }

    /**
     * Discards {@code [position, position + length)}: afterwards it reads as zeroes.
     *
     * <p>On Linux the range is deallocated ({@code fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)}),
     * which frees the space; where that is not possible (macOS, a file system without hole punching)
     * zeroes are written over data that is not already zero, which keeps the semantics.
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
