package org.jvmm.arm64;

import static org.jvmm.arm64.Arm64Layout.*;

import org.jvmm.core.ConfigurationException;

/**
 * Where the kernel, initrd and device tree go in guest RAM (Documentation/arch/arm64/booting.rst), worked
 * out before anything is written: the Image at {@link Arm64Layout#KERNEL_BASE} + text_offset growing up,
 * the FDT in the last 2 MiB block of the boot-data area, the initrd right below it. The Image's base is the
 * start of RAM, which satisfies either meaning of its flags bit 3 (clear: "as close as possible to the base
 * of DRAM"; set: anywhere).
 *
 * @param kernelAddress where the Image's first byte goes, and the entry point
 * @param kernelEnd     one past the bytes the kernel may use from there (image_size)
 * @param initrdAddress where the initrd goes ({@code == fdtAddress} when there is none)
 * @param initrdSize    its size, 0 for none
 * @param fdtAddress    where the DTB goes (X0 at entry)
 */
public record Arm64BootPlan(long kernelAddress, long kernelEnd, long initrdAddress, long initrdSize, long fdtAddress) {

    /** One past the initrd's last byte. */
    public long initrdEnd() { return initrdAddress + initrdSize; }

    /**
     * Places a kernel of {@code kernelLoadSize} bytes (image_size) at {@code textOffset} and an initrd of
     * {@code initrdSize} bytes (0 for none) in {@code ramSize} bytes of RAM.
     *
     * @throws ConfigurationException if they do not fit
     */
    public static Arm64BootPlan plan(long ramSize, long textOffset, long kernelLoadSize, long initrdSize) {
        if (textOffset < 0 || textOffset >= KERNEL_ALIGNMENT || kernelLoadSize < 0 || initrdSize < 0) {
            throw new IllegalArgumentException("negative size or text_offset beyond 2 MiB");
        }
        long fdt = Arm64Layout.fdtAddress(ramSize);
        long initrd = initrdSize == 0 ? fdt : Arm64Layout.initrdAddress(ramSize, initrdSize);
        long kernel = KERNEL_BASE + textOffset;
        long kernelEnd = kernel + kernelLoadSize;
        if (fdt < RAM_BASE || initrd < kernelEnd) {
            long needMiB = ((kernelEnd - RAM_BASE) + initrdSize + FDT_MAX_SIZE + INITRD_ALIGNMENT) / MiB + 1;
            throw new ConfigurationException("The kernel (" + (kernelLoadSize >> 20) + " MiB)"
                    + (initrdSize > 0 ? ", initrd (" + (initrdSize >> 20) + " MiB)" : "")
                    + " and device tree do not fit in " + (ramSize >> 20) + " MiB of guest memory; give the guest at least "
                    + needMiB + " MiB plus room to run.");
        }
        return new Arm64BootPlan(kernel, kernelEnd, initrd, initrdSize, fdt);
    }
}
