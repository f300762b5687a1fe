package org.jvmm.x86.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.loader.ElfKernel;
import org.jvmm.x86.X86Layout;
import org.jvmm.x86.cpu.X86Registers;

/**
 * Boots an uncompressed ELF {@code vmlinux}: its PT_LOAD segments go to their physical addresses, and
 * <ul>
 *   <li>with a PVH note (XEN_ELFNOTE_PHYS32_ENTRY), the kernel is entered in 32-bit protected mode with
 *       EBX pointing at an {@code hvm_start_info} (Xen's docs/misc/pvh.pandoc and
 *       xen/include/public/arch-x86/hvm/start_info.h, version 1 with a memory map): the path Firecracker
 *       and Cloud Hypervisor prefer;</li>
 *   <li>without one, at e_entry ({@code startup_64}) through the 64-bit boot protocol with a zero page whose
 *       setup header jvmm writes itself, as a vmlinux has none.</li>
 * </ul>
 */
public final class ElfBoot {

    private ElfBoot() {}

    /** hvm_start_info.magic: "xEn3" with the high bit of the first byte set. */
    public static final int PVH_MAGIC = 0x336ec578;
    /** Version 1 adds the memory map. */
    static final int PVH_VERSION = 1;
    static final int START_INFO_SIZE = 56, MODLIST_ENTRY_SIZE = 32, MEMMAP_ENTRY_SIZE = 24;
    /** Linux's COMMAND_LINE_SIZE on x86: what a kernel without a setup header accepts. */
    static final long LINUX_CMDLINE_MAX = 2047;
    /** The setup header jvmm writes for a vmlinux: from 0x1f1 up to (not including) 0x268. */
    static final int SYNTHETIC_HEADER_LENGTH = 0x268 - 0x1f1;

    /**
     * Loads {@code kernel} and writes its boot information.
     *
     * @return the boot CPU's state
     * @throws ConfigurationException if a segment lies outside RAM below the hole, or the initrd or
     *         command line does not fit
     */
    public static BootCpu load(GuestMemory memory, long memoryBytes, ElfKernel kernel, String cmdline,
                               Optional<Path> initrd, long rsdp) {
        long lowEnd = X86Layout.lowRamEnd(memoryBytes);
        long kernelEnd = X86Layout.HIGH_RAM_START;
        for (ElfKernel.Segment s : kernel.segments()) {
            long end = s.physicalAddress() + s.memorySize();
            if (s.physicalAddress() < X86Layout.HIGH_RAM_START || end > lowEnd || end < s.physicalAddress()) {
                throw new ConfigurationException("The kernel " + kernel.name() + " has a segment at 0x"
                        + Long.toHexString(s.physicalAddress()) + "–0x" + Long.toHexString(end) + ", outside guest RAM from 1 MiB to "
                        + (lowEnd >> 20) + " MiB: give the VM more memory or pass a kernel linked for 1 MiB and up.");
            }
            kernelEnd = Math.max(kernelEnd, end);
        }
        byte[] cmd = LinuxBoot.commandLine(kernel.name(), LINUX_CMDLINE_MAX, cmdline);
        long initrdAddress = 0, initrdSize = 0;
        if (initrd.isPresent()) {
            initrdSize = LinuxBoot.fileSize(initrd.get());
            initrdAddress = LinuxBoot.placeInitrd(lowEnd, LinuxBoot.DEFAULT_INITRD_ADDR_MAX, kernelEnd, initrdSize, initrd.get());
            LinuxBoot.copyFile(memory, initrd.get(), initrdAddress, initrdSize);
        }
        for (ElfKernel.Segment s : kernel.segments()) {
            byte[] bytes = s.fileBytes();
            memory.write(s.physicalAddress(), bytes);
            if (s.memorySize() > bytes.length) {
                memory.slice(s.physicalAddress() + bytes.length, s.memorySize() - bytes.length).fill((byte) 0);
            }
        }
        memory.write(X86Layout.CMDLINE, cmd);
        LinuxBoot.writeCpuTables(memory);
        List<E820Entry> e820 = E820Map.of(memoryBytes);
        if (kernel.pvhEntry().isPresent()) {
            memory.write(X86Layout.PVH_START_INFO, startInfo(X86Layout.CMDLINE, rsdp, initrdAddress, initrdSize, e820.size()));
            memory.write(X86Layout.PVH_MEMMAP, memmap(e820));
            return new BootCpu(X86Registers.RESET.withRip(kernel.pvhEntry().getAsLong()).withRbx(X86Layout.PVH_START_INFO),
                    BootRegisters.pvhSpecial());
        }
        memory.write(X86Layout.ZERO_PAGE, ZeroPage.build(syntheticHeader(), X86Layout.CMDLINE, initrdAddress, initrdSize,
                e820, rsdp));
        return new BootCpu(BootRegisters.general(kernel.entry()), BootRegisters.special());
    }

    /**
     * hvm_start_info, followed at {@link X86Layout#PVH_MODLIST} by one module entry for the initrd
     * (Linux takes the first module as its initrd).
     */
    static byte[] startInfo(long cmdline, long rsdp, long initrd, long initrdSize, int memmapEntries) {
        int modlistOffset = (int) (X86Layout.PVH_MODLIST - X86Layout.PVH_START_INFO);
        ByteBuffer b = ByteBuffer.allocate(modlistOffset + MODLIST_ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(PVH_MAGIC).putInt(PVH_VERSION).putInt(0).putInt(initrdSize > 0 ? 1 : 0)
                .putLong(initrdSize > 0 ? X86Layout.PVH_MODLIST : 0).putLong(cmdline).putLong(rsdp)
                .putLong(X86Layout.PVH_MEMMAP).putInt(memmapEntries).putInt(0);
        b.position(modlistOffset);
        b.putLong(initrd).putLong(initrdSize).putLong(0).putLong(0);
        return b.array();
    }

    /** The memory map as hvm_memmap_table_entry records (types as in e820). */
    static byte[] memmap(List<E820Entry> e820) {
        if (e820.size() * MEMMAP_ENTRY_SIZE > X86Layout.PVH_MEMMAP_MAX_SIZE) throw new IllegalArgumentException("memory map too large");
        ByteBuffer b = ByteBuffer.allocate(e820.size() * MEMMAP_ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (E820Entry e : e820) b.putLong(e.address()).putLong(e.size()).putInt(e.type()).putInt(0);
        return b.array();
    }

    /**
     * The setup header a bzImage would bring, for a vmlinux that has none: boot flag, "HdrS", protocol
     * 2.15, LOADED_HIGH, and the command-line limit; the loader's own fields are filled by {@link ZeroPage}.
     */
    static byte[] syntheticHeader() {
        ByteBuffer b = ByteBuffer.allocate(SYNTHETIC_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        int base = 0x1f1;
        b.putShort(0x1fe - base, (short) 0xaa55);
        b.put(0x202 - base, (byte) 'H').put(0x203 - base, (byte) 'd').put(0x204 - base, (byte) 'r').put(0x205 - base, (byte) 'S');
        b.putShort(0x206 - base, (short) 0x020f);
        b.put(0x211 - base, (byte) 0x01);
        b.putInt(0x230 - base, 0x200000);
        b.putInt(0x238 - base, (int) LINUX_CMDLINE_MAX);
        return b.array();
    }
}
