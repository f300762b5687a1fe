package org.jvmm.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;

/**
 * An image file where jvmm has no libc binding (macOS): a JDK channel, with the channel's record lock of
 * a writable image (null otherwise). Heap segments go through a copy; native ones (guest RAM) do not.
 */
final class ChannelFile implements ImageFile {

    private final FileChannel channel;
    private final FileLock lock;
    private final String name;

    ChannelFile(FileChannel channel, FileLock lock, String name) {
        this.channel = channel;
        this.lock = lock;
        this.name = name;
    }

    @Override
    public void read(long position, MemorySegment dst) throws IOException {
        ByteBuffer buf = dst.isNative() ? dst.asByteBuffer() : ByteBuffer.allocate(Math.toIntExact(dst.byteSize()));
        while (buf.hasRemaining()) {
            if (channel.read(buf, position + buf.position()) < 0) throw new IOException(name + " ended at " + (position + buf.position()));
        }
        if (!dst.isNative()) dst.copyFrom(MemorySegment.ofArray(buf.array()));
    }

    @Override
    public void write(long position, MemorySegment src) throws IOException {
        ByteBuffer buf = src.isNative() ? src.asByteBuffer() : ByteBuffer.wrap(src.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        while (buf.hasRemaining()) channel.write(buf, position + buf.position());
    }

    @Override
    public void flush() throws IOException {
        channel.force(false);
    }

    @Override
    public boolean punchHole(long position, long length) {
        return false;
    }

    @Override
    public void close() {
        try {
            if (lock != null) lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it anyway
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do with a channel that will not close
        }
    }
}
