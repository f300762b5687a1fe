package org.jvmm.loader;

import org.jvmm.core.ConfigurationException;

/**
 * Bounds-checked little-endian reads from a kernel file's bytes. Every read past the end turns into the
 * "is not a Linux kernel" {@link ConfigurationException}, so a truncated or lying file can never surface
 * as an {@link IndexOutOfBoundsException}.
 */
final class ImageBytes {

    static final String WHAT_TO_PASS = "pass a bzImage, an ELF vmlinux or an arm64 Image.";

    private final String name;
    private final byte[] bytes;

    ImageBytes(String name, byte[] bytes) {
        this.name = name;
        this.bytes = bytes;
    }

    String name() { return name; }

    byte[] bytes() { return bytes; }

    int length() { return bytes.length; }

    /** The standard rejection: {@code reason} completes "NAME is not a Linux kernel: …". */
    ConfigurationException notAKernel(String reason) {
        return notAKernel(name, reason);
    }

    static ConfigurationException notAKernel(String name, String reason) {
        return new ConfigurationException(name + " is not a Linux kernel: " + reason + "; " + WHAT_TO_PASS);
    }

    /** Throws unless {@code [offset, offset + size)} lies inside the file; both are unsigned. */
    void require(long offset, long size, String what) {
        if (offset < 0 || size < 0 || offset > bytes.length || size > bytes.length - offset) {
            throw notAKernel(what + " (" + Long.toUnsignedString(size) + " bytes at offset "
                    + Long.toUnsignedString(offset) + ") lies outside the " + bytes.length + "-byte file");
        }
    }

    boolean has(long offset, long size) {
        return offset >= 0 && size >= 0 && offset <= bytes.length && size <= bytes.length - offset;
    }

    int u8(long offset) {
        require(offset, 1, "a header field");
        return bytes[(int) offset] & 0xff;
    }

    int u16(long offset) {
        require(offset, 2, "a header field");
        int o = (int) offset;
        return (bytes[o] & 0xff) | (bytes[o + 1] & 0xff) << 8;
    }

    long u32(long offset) {
        require(offset, 4, "a header field");
        int o = (int) offset;
        return (bytes[o] & 0xffL) | (bytes[o + 1] & 0xffL) << 8 | (bytes[o + 2] & 0xffL) << 16
                | (bytes[o + 3] & 0xffL) << 24;
    }

    /** An unsigned 64-bit field; callers compare it with {@link Long#compareUnsigned}. */
    long u64(long offset) {
        require(offset, 8, "a header field");
        return u32(offset) | u32(offset + 4) << 32;
    }

    byte[] slice(long offset, long size, String what) {
        require(offset, size, what);
        byte[] out = new byte[(int) size];
        System.arraycopy(bytes, (int) offset, out, 0, (int) size);
        return out;
    }

    boolean startsWith(long offset, byte... magic) {
        if (!has(offset, magic.length)) return false;
        for (int i = 0; i < magic.length; i++) {
            if (bytes[(int) offset + i] != magic[i]) return false;
        }
        return true;
    }
}
