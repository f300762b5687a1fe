package org.jvmm.virtio.queue;

/**
 * One guest buffer of a descriptor chain: {@code length} bytes at guest-physical {@code address}.
 * A {@link DescriptorChain} only ever holds buffers that lie wholly inside one region of guest RAM.
 *
 * @param address guest-physical address of the first byte
 * @param length  size in bytes (an unsigned 32-bit descriptor length, so 0 to 2^32 - 1)
 */
public record Buffer(long address, long length) {}
