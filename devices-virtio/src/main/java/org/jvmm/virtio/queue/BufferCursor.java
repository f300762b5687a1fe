package org.jvmm.virtio.queue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jvmm.core.memory.GuestMemory;

/**
 * Reads or writes a list of guest buffers as one byte stream. Virtio 1.x lets the driver split a message
 * across descriptors wherever it likes (§2.7.4, "message framing"), so devices parse the stream, never
 * individual descriptors. The buffers come from a validated {@link DescriptorChain}, so every access is
 * inside guest RAM; a read or write past the stream's end throws {@link IndexOutOfBoundsException}
 * before touching anything (callers check {@link #remaining()} first).
 *
 * <p>Not thread-safe.
 */
public final class BufferCursor {

    private final GuestMemory memory;
    private final List<Buffer> buffers;
    private int index;
    private long offset;
    private long remaining;

    /** A cursor at the start of {@code buffers}. */
    public BufferCursor(GuestMemory memory, List<Buffer> buffers) {
        this.memory = memory;
        this.buffers = List.copyOf(buffers);
        for (Buffer b : this.buffers) remaining += b.length();
    }

    /** The bytes between the cursor and the end of the stream. */
    public long remaining() {
        return remaining;
    }

    /** Copies the next {@code length} bytes out of guest memory. */
    public byte[] read(int length) {
        byte[] out = new byte[length];
        int done = 0;
        for (MemorySegment s : take(length)) {
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, 0, out, done, (int) s.byteSize());
            done += (int) s.byteSize();
        }
        return out;
    }

    /** Copies {@code bytes} into the next {@code bytes.length} bytes of guest memory. */
    public void write(byte[] bytes) {
        int done = 0;
        for (MemorySegment s : take(bytes.length)) {
            MemorySegment.copy(bytes, done, s, ValueLayout.JAVA_BYTE, 0, (int) s.byteSize());
            done += (int) s.byteSize();
        }
    }

    /** Moves past the next {@code length} bytes. */
    public void skip(long length) {
        take(length);
    }

    /**
     * The next {@code length} bytes as views of guest memory (one per buffer touched, none larger than
     * {@code maxSegment}, so each fits a {@link java.nio.ByteBuffer}), moving the cursor past them.
     */
    public List<MemorySegment> take(long length, long maxSegment) {
        if (length < 0 || length > remaining) {
            throw new IndexOutOfBoundsException("take " + length + " of " + remaining + " remaining bytes");
        }
        List<MemorySegment> out = new ArrayList<>();
        long left = length;
        while (left > 0) {
            Buffer b = buffers.get(index);
            long n = Math.min(Math.min(left, b.length() - offset), maxSegment);
            if (n > 0) out.add(memory.slice(b.address() + offset, n));
            offset += n;
            left -= n;
            if (offset == b.length()) {
                index++;
                offset = 0;
            }
        }
        remaining -= length;
        return out;
    }

    /** {@link #take(long, long)} with segments of at most 1 GiB. */
    public List<MemorySegment> take(long length) {
        return take(length, 1L << 30);
    }
}
