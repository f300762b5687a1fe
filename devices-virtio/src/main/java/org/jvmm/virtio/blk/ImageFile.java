package org.jvmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * How a {@link DiskImage} reaches its file: positional reads and writes that complete in full, a
 * data flush, hole punching. On Linux a libc descriptor ({@link DescriptorFile}), elsewhere a JDK
 * channel ({@link ChannelFile}).
 */
sealed interface ImageFile permits DescriptorFile, ChannelFile {

    /** Fills all of {@code dst} from {@code position}; the end of the file before that is an error. */
    void read(long position, MemorySegment dst) throws IOException;

    /** Writes all of {@code src} at {@code position}. */
    void write(long position, MemorySegment src) throws IOException;

    /** Makes written data durable ({@code fdatasync}). */
    void flush() throws IOException;

    /**
     * Deallocates {@code [position, position + length)}, keeping the size, so that it reads as zeroes;
     * false if this file cannot (then nothing changed).
     */
    boolean punchHole(long position, long length) throws IOException;

    /** Releases the file and its lock. Called once. */
    void close();
}
