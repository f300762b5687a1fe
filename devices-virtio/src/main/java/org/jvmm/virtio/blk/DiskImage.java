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

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final boolean readOnly;
    private final long size;

    private DiskImage(Path path, FileChannel channel, FileLock lock, boolean readOnly, long size) {
        this.path = path;
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
        FileChannel channel;
        try {
            channel = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (AccessDeniedException e) {
            throw new ConfigurationException("Disk image " + path + " is not " + (readOnly ? "readable" : "writable")
                    + ": fix its permissions" + (readOnly ? "." : " or pass ,ro."), e);
        } catch (NoSuchFileException e) {
            throw new ConfigurationException("Disk image " + path + " does not exist: check the --disk path.", e);
        } catch (IOException e) {
            throw new ConfigurationException("Disk image " + path + " cannot be opened (" + e.getMessage() + "): check the --disk path.", e);
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
            return new DiskImage(path, channel, lock, readOnly, channel.size());
        } catch (IOException e) {
            closeQuietly(channel);
            throw new ConfigurationException("Disk image " + path + " cannot be locked (" + e.getMessage() + "): check the file system supports locks.", e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
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
     * <p>TODO: punch a hole ({@code fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)}) once the libc
     * binding has fallocate; FileChannel cannot, so until then this writes zeroes over data that is not
     * already zero, which keeps the semantics but frees no space.
     */
    public void discard(long position, long length) throws IOException {
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
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do with a descriptor that will not close
        }
    }
}
