package org.jvmm.loader;

import org.jvmm.core.ConfigurationException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * An arm64 kernel {@code Image} (Documentation/arch/arm64/booting.rst, "Call the kernel image"), raw,
 * gzip-compressed ({@code Image.gz}), or gzip-compressed inside an EFI zboot application. The
 * loader places {@link #image()} at a 2 MiB-aligned base + {@link #textOffset()}, reserves
 * {@link #loadSize()} bytes there, and enters at its first byte with x0 = the FDT address.
 *
 * <p>The 64-byte header: code0/code1, text_offset (0x08), image_size (0x10), flags (0x18), three
 * reserved words, magic "ARM\x64" (0x38), and a reserved word (the PE header offset on EFI kernels).
 * Validation: the magic, text_offset below 2 MiB (it is an offset from a 2 MiB-aligned base), and an
 * image_size, when given, that covers the file's bytes. A compressed file is inflated up to
 * {@link #MAX_DECOMPRESSED_SIZE}.
 *
 * @param name       the file name used in messages
 * @param image      the uncompressed Image bytes (a copy)
 * @param textOffset the text_offset field; 0x80000 for kernels older than 3.17, whose image_size is 0
 * @param imageSize  the image_size field: the kernel's memory footprint including .bss, or 0 if unknown
 * @param flags      the flags field: bit 0 big-endian, bits 1–2 page size, bit 3 placement anywhere
 * @param compressed whether the file was gzip-compressed
 */
public record Arm64Image(String name, byte[] image, long textOffset, long imageSize, long flags, boolean compressed)
        implements KernelImage {

    /** The most bytes a compressed Image may inflate to; a real kernel is a few tens of MiB. */
    public static final int MAX_DECOMPRESSED_SIZE = 256 << 20;
    static final int MAGIC_OFFSET = 0x38;
    static final byte[] MAGIC = {'A', 'R', 'M', 0x64};
    static final byte[] GZIP_MAGIC = {0x1f, (byte) 0x8b};
    static final byte[] ZBOOT_MAGIC = {'M', 'Z', 'z', 'i', 'm', 'g'};
    private static final int HEADER_SIZE = 64;
    private static final long TWO_MIB = 2L << 20;
    /** booting.rst: "if image_size is zero, a bootloader should attempt to use a text_offset of 0x80000". */
    private static final long LEGACY_TEXT_OFFSET = 0x80000;

    public Arm64Image {
        image = image.clone();
    }

    /** A copy of the uncompressed Image. */
    @Override public byte[] image() { return image.clone(); }

    /** The uncompressed size without copying. */
    public int imageLength() { return image.length; }

    /** Flags bit 0: the kernel is big-endian. */
    public boolean bigEndian() { return (flags & 1) != 0; }

    /** Flags bits 1–2: the kernel's page size in bytes, or 0 if it does not say. */
    public int pageSize() {
        return switch ((int) (flags >> 1) & 3) {
            case 1 -> 4096;
            case 2 -> 16384;
            case 3 -> 65536;
            default -> 0;
        };
    }

    /** Flags bit 3: the 2 MiB-aligned base may be anywhere in physical memory (else as low as possible). */
    public boolean placementAnywhere() { return (flags & 8) != 0; }

    /** The bytes to reserve from the load address: image_size, or the Image's length if image_size is 0. */
    public long loadSize() { return Math.max(imageSize, image.length); }

    /**
     * Parses an arm64 Image, inflating it first if it is gzip-compressed.
     *
     * @throws ConfigurationException if the bytes are not an arm64 Image (after inflation)
     */
    public static Arm64Image parse(String name, byte[] file) {
        ImageBytes f = new ImageBytes(name, file);
        if (f.startsWith(0, ZBOOT_MAGIC)) file = zbootPayload(f);
        boolean compressed = new ImageBytes(name, file).startsWith(0, GZIP_MAGIC);
        byte[] raw = compressed ? gunzip(name, file) : file;
        ImageBytes b = new ImageBytes(name, raw);
        b.require(0, HEADER_SIZE, "the arm64 Image header");
        if (!b.startsWith(MAGIC_OFFSET, MAGIC)) {
            throw b.notAKernel((compressed ? "its decompressed content has" : "it has") + " no arm64 magic at 0x38");
        }
        long textOffset = b.u64(0x08);
        long imageSize = b.u64(0x10);
        long flags = b.u64(0x18);
        if (imageSize == 0) textOffset = LEGACY_TEXT_OFFSET;
        if (Long.compareUnsigned(textOffset, TWO_MIB) >= 0) {
            throw b.notAKernel("its text_offset 0x" + Long.toUnsignedString(textOffset, 16) + " is not below 2 MiB");
        }
        if (imageSize != 0 && Long.compareUnsigned(imageSize, raw.length) < 0) {
            throw b.notAKernel("its image_size " + Long.toUnsignedString(imageSize) + " is smaller than the image ("
                    + raw.length + " bytes)");
        }
        if (Long.compareUnsigned(imageSize, 1L << 32) > 0) {
            throw b.notAKernel("its image_size " + Long.toUnsignedString(imageSize) + " is larger than 4 GiB");
        }
        return new Arm64Image(name, raw, textOffset, imageSize, flags, compressed);
    }

    /**
     * The compressed Image inside an EFI zboot application (CONFIG_EFI_ZBOOT,
     * drivers/firmware/efi/libstub/zboot-header.S): "MZ", "zimg", the payload's offset and size (u32
     * at 8 and 12), and the compression's name (NUL-terminated at 24). Only gzip is inflated here.
     */
    private static byte[] zbootPayload(ImageBytes f) {
        long offset = f.u32(8), size = f.u32(12);
        StringBuilder type = new StringBuilder();
        for (int i = 24; i < 32 && f.u8(i) != 0; i++) type.append((char) f.u8(i));
        if (!type.toString().equals("gzip")) {
            throw f.notAKernel("it is an EFI zboot image compressed with \"" + type + "\", and only gzip is supported");
        }
        return f.slice(offset, size, "the EFI zboot payload");
    }

    private static byte[] gunzip(String name, byte[] file) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(file))) {
            byte[] out = in.readNBytes(MAX_DECOMPRESSED_SIZE + 1);
            if (out.length > MAX_DECOMPRESSED_SIZE) {
                throw ImageBytes.notAKernel(name, "it inflates to more than " + (MAX_DECOMPRESSED_SIZE >> 20) + " MiB");
            }
            return out;
        } catch (IOException | RuntimeException e) {
            if (e instanceof ConfigurationException c) throw c;
            throw ImageBytes.notAKernel(name, "it starts like gzip but does not inflate (" + e.getMessage() + ")");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Arm64Image a && name.equals(a.name) && textOffset == a.textOffset
                && imageSize == a.imageSize && flags == a.flags && compressed == a.compressed
                && Arrays.equals(image, a.image);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(image) * 31 + Long.hashCode(imageSize);
    }

    @Override
    public String toString() {
        return "Arm64Image[" + name + ", " + image.length + " bytes" + (compressed ? " (gunzipped)" : "")
                + ", text_offset 0x" + Long.toHexString(textOffset) + ", image_size 0x" + Long.toHexString(imageSize)
                + ", flags 0x" + Long.toHexString(flags) + "]";
    }
}
