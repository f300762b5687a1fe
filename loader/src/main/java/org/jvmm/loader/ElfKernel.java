package org.jvmm.loader;

import org.jvmm.core.ConfigurationException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;

/**
 * An uncompressed x86-64 kernel, {@code vmlinux}: an ELF64 little-endian executable (System V gABI,
 * "ELF Header" and "Program Header"). The loader copies each {@link Segment} to its physical address
 * and zero-fills it to its memory size, then enters either {@link #entry()} with the 64-bit boot protocol
 * (vmlinux's e_entry is the physical address of startup_64) or, if the kernel has one, the
 * {@link #pvhEntry() PVH entry} in 32-bit protected mode (the Xen PVH boot ABI, which Linux implements
 * in arch/x86/platform/pvh).
 *
 * <p>Validation: ELF class 64, little-endian, current version, e_machine EM_X86_64, an executable
 * type, a program header table of 56-byte entries inside the file, every PT_LOAD's file bytes inside the
 * file with p_filesz ≤ p_memsz and no wrap-around of p_paddr + p_memsz, at least one PT_LOAD, and every
 * note inside its PT_NOTE.
 *
 * @param name     the file name used in messages
 * @param entry    e_entry, the physical 64-bit entry address
 * @param segments the PT_LOAD segments in file order
 * @param pvhEntry the 32-bit PVH entry from the XEN_ELFNOTE_PHYS32_ENTRY note, if present
 */
public record ElfKernel(String name, long entry, List<Segment> segments, OptionalLong pvhEntry) implements KernelImage {

    static final byte[] MAGIC = {0x7f, 'E', 'L', 'F'};
    /** The note type of the PVH entry point, from xen/include/public/elfnote.h. */
    public static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;
    private static final int ELFCLASS64 = 2, ELFDATA2LSB = 1, EV_CURRENT = 1;
    private static final int ET_EXEC = 2, ET_DYN = 3, EM_X86_64 = 62;
    private static final int PT_LOAD = 1, PT_NOTE = 4;
    private static final int EHDR_SIZE = 64, PHDR_SIZE = 56;

    public ElfKernel {
        segments = List.copyOf(segments);
    }

    /**
     * One PT_LOAD segment.
     *
     * @param physicalAddress p_paddr, where the segment goes in guest-physical memory
     * @param fileBytes       the p_filesz bytes from the file (a copy)
     * @param memorySize      p_memsz; the bytes past the file bytes are zero (the kernel's .bss)
     */
    public record Segment(long physicalAddress, byte[] fileBytes, long memorySize) {
        public Segment {
            fileBytes = fileBytes.clone();
            if (Long.compareUnsigned(fileBytes.length, memorySize) > 0) {
                throw new IllegalArgumentException("segment file size exceeds its memory size");
            }
        }

        /** A copy of the segment's file bytes. */
        @Override public byte[] fileBytes() { return fileBytes.clone(); }

        /** The number of file bytes, without copying them. */
        public int fileSize() { return fileBytes.length; }

        @Override
        public boolean equals(Object o) {
            return o instanceof Segment s && physicalAddress == s.physicalAddress && memorySize == s.memorySize
                    && Arrays.equals(fileBytes, s.fileBytes);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(physicalAddress) * 31 + Arrays.hashCode(fileBytes);
        }

        @Override
        public String toString() {
            return "Segment[paddr 0x" + Long.toHexString(physicalAddress) + ", " + fileBytes.length
                    + " file bytes, memsz 0x" + Long.toHexString(memorySize) + "]";
        }
    }

    /**
     * Parses and validates an ELF vmlinux held in memory.
     *
     * @throws ConfigurationException if the bytes are not an x86-64 ELF kernel
     */
    public static ElfKernel parse(String name, byte[] file) {
        ImageBytes b = new ImageBytes(name, file);
        if (!b.startsWith(0, MAGIC)) throw b.notAKernel("it does not start with the ELF magic");
        b.require(0, EHDR_SIZE, "the ELF header");
        if (b.u8(4) != ELFCLASS64 || b.u8(5) != ELFDATA2LSB || b.u8(6) != EV_CURRENT) {
            throw b.notAKernel("it is not a 64-bit little-endian ELF file");
        }
        int type = b.u16(0x10);
        if (b.u16(0x12) != EM_X86_64 || (type != ET_EXEC && type != ET_DYN)) {
            throw b.notAKernel("it is an ELF file but not an x86-64 executable");
        }
        long entry = b.u64(0x18);
        long phoff = b.u64(0x20);
        int phentsize = b.u16(0x36);
        int phnum = b.u16(0x38);
        if (phentsize != PHDR_SIZE) {
            throw b.notAKernel("its program headers are " + phentsize + " bytes instead of " + PHDR_SIZE);
        }
        b.require(phoff, (long) phnum * PHDR_SIZE, "the program header table");
        List<Segment> segments = new ArrayList<>();
        OptionalLong pvh = OptionalLong.empty();
        for (int i = 0; i < phnum; i++) {
            long ph = phoff + (long) i * PHDR_SIZE;
            long pType = b.u32(ph);
            long offset = b.u64(ph + 8);
            long paddr = b.u64(ph + 24);
            long filesz = b.u64(ph + 32);
            long memsz = b.u64(ph + 40);
            if (pType == PT_LOAD) {
                if (Long.compareUnsigned(filesz, memsz) > 0) {
                    throw b.notAKernel("its segment " + i + " has more file bytes than memory bytes");
                }
                if (Long.compareUnsigned(paddr + memsz, paddr) < 0) {
                    throw b.notAKernel("its segment " + i + " wraps around the end of the address space");
                }
                segments.add(new Segment(paddr, b.slice(offset, filesz, "segment " + i), memsz));
            } else if (pType == PT_NOTE) {
                b.require(offset, filesz, "note segment " + i);
                OptionalLong found = findPvhEntry(b, offset, filesz);
                if (found.isPresent()) pvh = found;
            }
        }
        if (segments.isEmpty()) throw b.notAKernel("it is an ELF file with nothing to load (no PT_LOAD segment)");
        return new ElfKernel(name, entry, segments, pvh);
    }

    /** Walks the notes of one PT_NOTE segment (gABI "Note Section": 4-byte aligned name and descriptor). */
    private static OptionalLong findPvhEntry(ImageBytes b, long start, long size) {
        long end = start + size;
        long at = start;
        while (end - at >= 12) {
            long namesz = b.u32(at), descsz = b.u32(at + 4), type = b.u32(at + 8);
            long nameAt = at + 12;
            long descAt = nameAt + align4(namesz);
            long next = descAt + align4(descsz);
            if (next > end) throw b.notAKernel("a note in its PT_NOTE segment runs past the segment's end");
            if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && b.startsWith(nameAt, (byte) 'X', (byte) 'e', (byte) 'n', (byte) 0)) {
                // Linux has written the entry both as .long and as a pointer-sized .quad; both are physical.
                long value = switch ((int) descsz) {
                    case 4 -> b.u32(descAt);
                    case 8 -> b.u64(descAt);
                    default -> throw b.notAKernel("its PVH entry note has a " + descsz + "-byte value");
                };
                if (Long.compareUnsigned(value, 0xffff_ffffL) > 0) {
                    throw b.notAKernel("its PVH entry 0x" + Long.toHexString(value) + " is above 4 GiB");
                }
                return OptionalLong.of(value);
            }
            at = next;
        }
        return OptionalLong.empty();
    }

    private static long align4(long n) {
        return (n + 3) & ~3L; // n < 2^32, so this cannot overflow
    }
}
