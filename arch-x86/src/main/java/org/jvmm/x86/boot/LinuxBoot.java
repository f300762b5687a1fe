package org.jvmm.x86.boot;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.loader.BzImage;
import org.jvmm.x86.X86Layout;

/**
 * Places a bzImage, its initrd and command line in guest memory and writes everything the 64-bit boot
 * protocol needs before the first instruction: zero page, GDT, TSS, IDT and identity page tables.
 * Where things go is decided here, from {@link X86Layout} and the kernel's header; the result says where.
 */
public final class LinuxBoot {

    private LinuxBoot() {}

    /**
     * Where the kernel and initrd went.
     *
     * @param kernelAddress where the protected-mode kernel starts
     * @param entry         the 64-bit entry point: kernelAddress + 0x200
     * @param initrdAddress the initrd's first byte (0 if none)
     * @param initrdSize    its length (0 if none)
     */
    public record Placement(long kernelAddress, long entry, long initrdAddress, long initrdSize) {
        /** The boot CPU's state for the 64-bit boot protocol at {@link #entry()}. */
        public BootCpu bootCpu() {
            return new BootCpu(BootRegisters.general(entry), BootRegisters.special());
        }
    }

    /** boot.rst: initrd_addr_max is 0x37ffffff for kernels that leave it 0 (protocol before 2.03). */
    static final long DEFAULT_INITRD_ADDR_MAX = 0x37ffffffL;
    /** boot.rst: cmdline_size is 255 for kernels older than protocol 2.06. */
    static final long DEFAULT_CMDLINE_SIZE = 255;

    /**
     * Loads {@code kernel} into {@code memory} (of {@code memoryBytes} RAM, laid out per {@link X86Layout}).
     *
     * @param rsdp the ACPI RSDP already written, or 0
     * @throws ConfigurationException if the kernel, initrd or command line does not fit
     */
    public static Placement load(GuestMemory memory, long memoryBytes, BzImage kernel, String cmdline,
                                 Optional<Path> initrd, long rsdp) {
        long lowEnd = X86Layout.lowRamEnd(memoryBytes);
        long kernelAddress = kernelAddress(kernel, lowEnd);
        long kernelEnd = kernelAddress + Math.max(kernel.initSize(), kernel.protectedModeKernelSize());

        byte[] cmd = commandLine(kernel, cmdline);
        long initrdAddress = 0, initrdSize = 0;
        if (initrd.isPresent()) {
            initrdSize = fileSize(initrd.get());
            initrdAddress = initrdAddress(kernel, lowEnd, kernelEnd, initrdSize, initrd.get());
            copyFile(memory, initrd.get(), initrdAddress, initrdSize);
        }
        memory.write(kernelAddress, kernel.protectedModeKernel());
        memory.write(X86Layout.CMDLINE, cmd);
        memory.write(X86Layout.ZERO_PAGE, ZeroPage.build(kernel.setupHeader(), X86Layout.CMDLINE, initrdAddress,
                initrdSize, E820Map.of(memoryBytes), rsdp));
        writeCpuTables(memory);
        return new Placement(kernelAddress, kernelAddress + BzImage.ENTRY_64_OFFSET, initrdAddress, initrdSize);
    }

    /** Writes GDT, IDT, TSS and page tables: the structures {@link BootRegisters} point at. */
    public static void writeCpuTables(GuestMemory memory) {
        memory.write(X86Layout.GDT, BootGdt.bytes());
        memory.write(X86Layout.IDT, new byte[X86Layout.IDT_SIZE]);
        memory.write(X86Layout.TSS, new byte[X86Layout.TSS_SIZE]);
        PageTables.write(memory);
    }

    /**
     * 1 MiB, or pref_address when the kernel is relocatable, pref_address is suitably aligned and above
     * 1 MiB, and the kernel's init_size fits below the hole there (boot.rst: "A relocating bootloader
     * should attempt to load at this address if possible"). A non-relocatable kernel loads at 1 MiB and moves
     * itself to its fixed address.
     */
    static long kernelAddress(BzImage kernel, long lowEnd) {
        long need = Math.max(kernel.initSize(), kernel.protectedModeKernelSize());
        long pref = kernel.prefAddress();
        if (kernel.relocatableKernel() && pref >= X86Layout.KERNEL_LOAD && pref % kernel.kernelAlignment() == 0
                && pref < lowEnd && need <= lowEnd - pref) {
            return pref;
        }
        if (need > lowEnd - X86Layout.KERNEL_LOAD) {
            throw new ConfigurationException("The kernel " + kernel.name() + " needs " + (need >> 20)
                    + " MiB from its load address, more than guest RAM below 3 GiB offers: give the VM more memory.");
        }
        return X86Layout.KERNEL_LOAD;
    }

    /** The initrd goes as high as allowed: below initrd_addr_max and the hole, page aligned, above the kernel. */
    static long initrdAddress(BzImage kernel, long lowEnd, long kernelEnd, long size, Path file) {
        long addrMax = kernel.initrdAddrMax() == 0 ? DEFAULT_INITRD_ADDR_MAX : kernel.initrdAddrMax();
        return placeInitrd(lowEnd, addrMax, kernelEnd, size, file);
    }

    /** The highest page-aligned place for {@code size} bytes ending at most at {@code addrMax} and {@code lowEnd}, above {@code kernelEnd}. */
    static long placeInitrd(long lowEnd, long addrMax, long kernelEnd, long size, Path file) {
        long top = Math.min(lowEnd, addrMax + 1);
        long address = (top - size) & -X86Layout.INITRD_ALIGN;
        if (size > top || address < kernelEnd) {
            throw new ConfigurationException("The initrd " + file + " (" + (size >> 20) + " MiB) does not fit between the kernel"
                    + " and " + (top >> 20) + " MiB: give the VM more memory or use a smaller initrd.");
        }
        return address;
    }

    static byte[] commandLine(BzImage kernel, String cmdline) {
        return commandLine(kernel.name(), kernel.cmdlineSize() == 0 ? DEFAULT_CMDLINE_SIZE : kernel.cmdlineSize(), cmdline);
    }

    /** The zero-terminated command line, if it has at most {@code max} bytes. */
    static byte[] commandLine(String kernelName, long max, String cmdline) {
        byte[] bytes = cmdline.getBytes(StandardCharsets.UTF_8);
        max = Math.min(max, X86Layout.CMDLINE_MAX_SIZE - 1);
        if (bytes.length > max) {
            throw new ConfigurationException("The kernel command line is " + bytes.length + " bytes but "
                    + kernelName + " accepts at most " + max + ": shorten it.");
        }
        if (cmdline.indexOf('\0') >= 0) {
            throw new ConfigurationException("The kernel command line contains a NUL character: remove it.");
        }
        byte[] z = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, z, 0, bytes.length);
        return z;
    }

    static long fileSize(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new ConfigurationException("Cannot read the initrd " + file + " (" + e + "): pass a readable file.", e);
        }
    }

    static void copyFile(GuestMemory memory, Path file, long address, long size) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long done = 0;
            while (done < size) {
                int chunk = (int) Math.min(size - done, 1 << 30);
                var buffer = memory.slice(address + done, chunk).asByteBuffer();
                while (buffer.hasRemaining()) {
                    if (ch.read(buffer, done + buffer.position()) < 0) {
                        throw new IOException("file shrank while reading");
                    }
                }
                done += chunk;
            }
        } catch (IOException e) {
            throw new ConfigurationException("Cannot read the initrd " + file + " (" + e + "): pass a readable file.", e);
        }
    }
}
