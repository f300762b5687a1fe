package org.jvmm.loader;

import org.jvmm.core.ConfigurationException;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * An x86 {@code bzImage} as described by the Linux/x86 boot protocol
 * (Documentation/arch/x86/boot.rst), validated for 64-bit direct boot: the loader copies
 * {@link #setupHeader()} into the zero page at 0x1f1, loads {@link #protectedModeKernel()} at a
 * suitably aligned address and enters it at that address + 0x200 in long mode ("64-bit Boot Protocol").
 *
 * <p>Validation, each with the section of boot.rst that requires it:
 * <ul>
 *   <li>"The Real-Mode Kernel Header": boot_flag 0xAA55 at 0x1fe and "HdrS" at 0x202;</li>
 *   <li>protocol version ≥ 2.12, the first with xloadflags, the field by which a kernel announces
 *       its 64-bit entry point ("Details of Header Fields": xloadflags);</li>
 *   <li>loadflags bit 0 LOADED_HIGH: the protected-mode code is loaded at 0x100000 or wherever the loader
 *       puts it, never at 0x10000 (zImage);</li>
 *   <li>xloadflags bit 0 XLF_KERNEL_64: the kernel has the legacy 64-bit entry point at +0x200;</li>
 *   <li>the setup header ends (0x202 + the byte at 0x201, "jump" field) inside the file and inside the
 *       zero page's header area (before 0x290, where struct boot_params continues);</li>
 *   <li>setup_sects (0 meaning 4) and syssize (protected-mode size in 16-byte units, 32-bit from 2.04)
 *       describe bytes that are really in the file;</li>
 *   <li>payload_offset + payload_length (2.08) lie inside the protected-mode kernel;</li>
 *   <li>kernel_alignment is a power of two (it is the alignment the loader must honour for a
 *       relocatable kernel), and pref_address + init_size does not wrap around.</li>
 * </ul>
 * The record holds copies: the array accessors return fresh copies, so no caller can change another's view.
 *
 * @param name               the file name used in messages
 * @param setupHeader        bytes 0x1f1 to the header's end, exactly as in the file ("Loading the Rest of the Kernel")
 * @param protectedModeKernel the bytes after the (setup_sects + 1) × 512 real-mode bytes
 * @param protocolVersion    the "version" field at 0x206, e.g. 0x020f for 2.15
 * @param loadflags          the loadflags byte at 0x211
 * @param xloadflags         the xloadflags field at 0x236
 * @param setupSects         the number of 512-byte setup sectors after the boot sector, with 0 already read as 4
 * @param prefAddress        pref_address at 0x258: where a non-relocatable kernel must be loaded
 * @param initSize           init_size at 0x260: memory the kernel needs from its load address before it can look at the memory map
 * @param kernelAlignment    kernel_alignment at 0x230: required load alignment of a relocatable kernel
 * @param relocatableKernel  relocatable_kernel at 0x234: whether the kernel may be loaded anywhere aligned
 * @param cmdlineSize        cmdline_size at 0x238: maximum command-line length, excluding the terminating zero
 * @param initrdAddrMax      initrd_addr_max at 0x22c: highest address the initrd's last byte may occupy
 */
public record BzImage(String name, byte[] setupHeader, byte[] protectedModeKernel, int protocolVersion,
                      int loadflags, int xloadflags, int setupSects, long prefAddress, long initSize,
                      long kernelAlignment, boolean relocatableKernel, long cmdlineSize, long initrdAddrMax)
        implements KernelImage {

    /** Where the setup header starts in the file and in the zero page ("The Real-Mode Kernel Header"). */
    public static final int SETUP_HEADER_OFFSET = 0x1f1;
    /** The offset of the 64-bit entry point inside the protected-mode kernel ("64-bit Boot Protocol"). */
    public static final int ENTRY_64_OFFSET = 0x200;
    /** The oldest protocol version accepted: 2.12. */
    public static final int MIN_PROTOCOL_VERSION = 0x020c;
    /** loadflags bit 0: the protected-mode code is loaded high. */
    public static final int LOADED_HIGH = 0x01;
    /** loadflags bit 5: the kernel prints nothing early (decompressor quiet). */
    public static final int QUIET_FLAG = 0x20;
    /** loadflags bit 6: keep segments (no reloading of segment registers in the 32-bit entry). */
    public static final int KEEP_SEGMENTS = 0x40;
    /** loadflags bit 7: the loader set heap_end_ptr. */
    public static final int CAN_USE_HEAP = 0x80;
    /** xloadflags bit 0: the kernel has the 64-bit entry point at {@link #ENTRY_64_OFFSET}. */
    public static final int XLF_KERNEL_64 = 0x01;
    /** xloadflags bit 1: kernel, boot_params, command line and initrd may lie above 4 GiB. */
    public static final int XLF_CAN_BE_LOADED_ABOVE_4G = 0x02;

    static final int HEADER_MAGIC_OFFSET = 0x202;
    static final byte[] HEADER_MAGIC = {'H', 'd', 'r', 'S'};
    private static final int BOOT_FLAG_OFFSET = 0x1fe;
    private static final int BOOT_FLAG = 0xaa55;
    /** The header through init_size and handover_offset, all fields of protocol 2.12. */
    private static final int MIN_HEADER_END = 0x268;
    /** struct boot_params continues at 0x290 (edd_mbr_sig_buffer): a longer header would not fit. */
    private static final int MAX_HEADER_END = 0x290;

    public BzImage {
        setupHeader = setupHeader.clone();
        protectedModeKernel = protectedModeKernel.clone();
    }

    /** A copy of the setup header bytes (0x1f1 to the header's end) as the file has them. */
    @Override public byte[] setupHeader() { return setupHeader.clone(); }

    /** A copy of the protected-mode kernel: everything after the setup sectors. */
    @Override public byte[] protectedModeKernel() { return protectedModeKernel.clone(); }

    /** The size of {@link #protectedModeKernel()} without copying it. */
    public int protectedModeKernelSize() { return protectedModeKernel.length; }

    /** Whether xloadflags says everything may be placed above 4 GiB. */
    public boolean canBeLoadedAbove4G() { return (xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G) != 0; }

    /**
     * payload_offset (0x248): where the compressed kernel starts inside {@link #protectedModeKernel()}
     * ("Details of Header Fields"); with {@link #payloadLength()} it lets a tool find the ELF vmlinux
     * inside a bzImage. Validated to lie inside the protected-mode kernel.
     */
    public long payloadOffset() { return headerU32(0x248); }

    /** payload_length (0x24c): the length of the compressed payload. */
    public long payloadLength() { return headerU32(0x24c); }

    private long headerU32(int fileOffset) {
        int i = fileOffset - SETUP_HEADER_OFFSET;
        return (setupHeader[i] & 0xffL) | (setupHeader[i + 1] & 0xffL) << 8 | (setupHeader[i + 2] & 0xffL) << 16
                | (setupHeader[i + 3] & 0xffL) << 24;
    }

    /** The protocol version as the boot protocol writes it, e.g. "2.15". */
    public String protocolVersionString() { return (protocolVersion >> 8) + "." + (protocolVersion & 0xff); }

    /**
     * Parses and validates a bzImage held in memory.
     *
     * @throws ConfigurationException if the bytes are not a bzImage jvmm can boot in 64-bit mode
     */
    public static BzImage parse(String name, byte[] file) {
        ImageBytes b = new ImageBytes(name, file);
        if (!b.startsWith(HEADER_MAGIC_OFFSET, HEADER_MAGIC)) {
            throw b.notAKernel("it has no \"HdrS\" bzImage signature at offset 0x202");
        }
        if (b.u16(BOOT_FLAG_OFFSET) != BOOT_FLAG) {
            throw b.notAKernel("its boot flag at 0x1fe is 0x" + Integer.toHexString(b.u16(BOOT_FLAG_OFFSET))
                    + " instead of 0xaa55");
        }
        int version = b.u16(0x206);
        if (version < MIN_PROTOCOL_VERSION) {
            throw new ConfigurationException(name + " uses boot protocol " + (version >> 8) + "." + (version & 0xff)
                    + ", too old for 64-bit direct boot (2.12 or newer is needed); pass a kernel from Linux 3.8 or later.");
        }
        int headerEnd = HEADER_MAGIC_OFFSET + b.u8(0x201);
        if (headerEnd < MIN_HEADER_END || headerEnd > MAX_HEADER_END) {
            throw b.notAKernel("its setup header claims to end at 0x" + Integer.toHexString(headerEnd)
                    + ", outside 0x" + Integer.toHexString(MIN_HEADER_END) + "–0x" + Integer.toHexString(MAX_HEADER_END));
        }
        b.require(SETUP_HEADER_OFFSET, headerEnd - SETUP_HEADER_OFFSET, "the setup header");
        int loadflags = b.u8(0x211);
        if ((loadflags & LOADED_HIGH) == 0) {
            throw b.notAKernel("loadflags lacks LOADED_HIGH, so it is a zImage that must load at 0x10000");
        }
        int xloadflags = b.u16(0x236);
        if ((xloadflags & XLF_KERNEL_64) == 0) {
            throw new ConfigurationException(name + " has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64);"
                    + " pass a 64-bit x86 kernel (CONFIG_64BIT).");
        }
        int setupSects = b.u8(SETUP_HEADER_OFFSET);
        if (setupSects == 0) setupSects = 4; // boot.rst: "If this field is 0, the real value is 4."
        long pmOffset = (setupSects + 1L) * 512;
        long syssizeBytes = b.u32(0x1f4) * 16;
        if (syssizeBytes == 0) throw b.notAKernel("its syssize field says the protected-mode kernel is empty");
        b.require(pmOffset, syssizeBytes, "the protected-mode kernel");
        long kernelAlignment = b.u32(0x230);
        boolean relocatable = b.u8(0x234) != 0;
        if (Long.bitCount(kernelAlignment) != 1) {
            throw b.notAKernel("its kernel_alignment 0x" + Long.toHexString(kernelAlignment) + " is not a power of two");
        }
        long prefAddress = b.u64(0x258);
        long initSize = b.u32(0x260);
        if (initSize < syssizeBytes) {
            throw b.notAKernel("its init_size (" + initSize + " bytes) is smaller than its protected-mode code ("
                    + syssizeBytes + " bytes)");
        }
        if (Long.compareUnsigned(prefAddress + initSize, prefAddress) < 0) {
            throw b.notAKernel("its pref_address 0x" + Long.toUnsignedString(prefAddress, 16)
                    + " plus init_size wraps around the address space");
        }
        long payloadOffset = b.u32(0x248), payloadLength = b.u32(0x24c);
        if (payloadOffset + payloadLength > file.length - pmOffset) {
            throw b.notAKernel("its compressed payload (payload_offset 0x" + Long.toHexString(payloadOffset)
                    + ", payload_length 0x" + Long.toHexString(payloadLength) + ") lies outside the protected-mode kernel");
        }
        return new BzImage(name, b.slice(SETUP_HEADER_OFFSET, headerEnd - SETUP_HEADER_OFFSET, "the setup header"),
                b.slice(pmOffset, file.length - pmOffset, "the protected-mode kernel"),
                version, loadflags, xloadflags, setupSects, prefAddress, initSize, kernelAlignment, relocatable,
                b.u32(0x238), b.u32(0x22c));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BzImage z && name.equals(z.name) && Arrays.equals(setupHeader, z.setupHeader)
                && Arrays.equals(protectedModeKernel, z.protectedModeKernel);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(setupHeader) + protectedModeKernel.length;
    }

    @Override
    public String toString() {
        return "BzImage[" + name + ", protocol " + protocolVersionString() + ", " + protectedModeKernel.length
                + "-byte protected-mode kernel, pref_address 0x" + Long.toHexString(prefAddress)
                + ", init_size 0x" + Long.toHexString(initSize) + ", alignment 0x" + Long.toHexString(kernelAlignment)
                + (relocatableKernel ? ", relocatable" : "") + ", setup header "
                + HexFormat.of().formatHex(setupHeader, 0, Math.min(16, setupHeader.length)) + "…]";
    }
}
