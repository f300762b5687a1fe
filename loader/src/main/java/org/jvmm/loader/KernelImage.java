package org.jvmm.loader;

import org.jvmm.core.ConfigurationException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Linux kernel file in one of the formats jvmm boots directly, parsed and validated but not yet
 * placed in guest memory: an x86 {@link BzImage}, an x86-64 {@link ElfKernel} ({@code vmlinux}), or an
 * {@link Arm64Image}. Where it goes is the platform's decision, not the file's.
 *
 * <p>The file is untrusted input: every parser checks every offset and size against the file and
 * reports a bad file as a {@link ConfigurationException} whose one sentence says what to pass instead.
 */
public sealed interface KernelImage permits BzImage, ElfKernel, Arm64Image {

    /** The largest kernel file read: generous for any real kernel, small enough not to exhaust the heap. */
    long MAX_FILE_SIZE = 512L << 20;

    /** The name used in messages (the path as the user gave it). */
    String name();

    /**
     * Reads {@code file} and picks its format from its content (never from its name): the ELF magic,
     * the bzImage "HdrS" signature at 0x202, the arm64 magic at 0x38, or a gzip stream or an EFI
     * zboot application holding an arm64 Image.
     *
     * @throws ConfigurationException if the file cannot be read or is none of those formats
     */
    static KernelImage read(Path file) {
        return parse(file.toString(), readCapped(file, MAX_FILE_SIZE));
    }

    /** Like {@link #read(Path)} for bytes already in memory; {@code name} is used in messages. */
    static KernelImage parse(String name, byte[] bytes) {
        ImageBytes b = new ImageBytes(name, bytes);
        if (b.startsWith(0, ElfKernel.MAGIC)) return ElfKernel.parse(name, bytes);
        if (b.startsWith(BzImage.HEADER_MAGIC_OFFSET, BzImage.HEADER_MAGIC)) return BzImage.parse(name, bytes);
        if (b.startsWith(Arm64Image.MAGIC_OFFSET, Arm64Image.MAGIC)) return Arm64Image.parse(name, bytes);
        if (b.startsWith(0, Arm64Image.GZIP_MAGIC) || b.startsWith(0, Arm64Image.ZBOOT_MAGIC)) {
            return Arm64Image.parse(name, bytes);
        }
        throw b.notAKernel("it has neither an ELF header, a bzImage setup header nor an arm64 Image header");
    }

    /** Reads a whole file, refusing one larger than {@code limit} bytes before allocating for it. */
    private static byte[] readCapped(Path file, long limit) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigurationException("The kernel " + file + " is not a regular file (or does not exist);"
                    + " pass the path of a bzImage, an ELF vmlinux or an arm64 Image.");
        }
        // Checked before reading and again while reading: the file may grow in between.
        try (InputStream in = Files.newInputStream(file)) {
            if (Files.size(file) > limit) {
                throw ImageBytes.notAKernel(file.toString(), "it is larger than " + (limit >> 20) + " MiB");
            }
            byte[] bytes = in.readNBytes((int) Math.min(limit + 1, Integer.MAX_VALUE - 8));
            if (bytes.length > limit) {
                throw ImageBytes.notAKernel(file.toString(), "it is larger than " + (limit >> 20) + " MiB");
            }
            return bytes;
        } catch (IOException e) {
            throw new ConfigurationException("Cannot read the kernel " + file + " (" + e
                    + "); pass the path of a readable bzImage, ELF vmlinux or arm64 Image.", e);
        }
    }
}
