package org.jvmm.virtio.queue;

import java.util.List;

/**
 * A validated descriptor chain (virtio 1.2 §2.7.5) taken from a queue's available ring: the buffers the
 * device may read, then those it may write, in chain order (indirect tables already expanded).
 *
 * @param head     the index of the chain's first descriptor, which the used ring element must name
 * @param readable the device-readable buffers
 * @param writable the device-writable buffers (in a chain they always follow the readable ones)
 */
public record DescriptorChain(int head, List<Buffer> readable, List<Buffer> writable) {

    public DescriptorChain {
        readable = List.copyOf(readable);
        writable = List.copyOf(writable);
    }

    /** The total size of the readable buffers. */
    public long readableLength() {
        return readable.stream().mapToLong(Buffer::length).sum();
    }

    /** The total size of the writable buffers. */
    public long writableLength() {
        return writable.stream().mapToLong(Buffer::length).sum();
    }
}
