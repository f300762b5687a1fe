package org.jvmm.arm64;

/**
 * The guest-physical memory map of jvmm's arm64 machine: every address the platform, the device tree
 * and the backends use, each justified here and nowhere else.
 *
 * <p>The map is QEMU's {@code virt} machine ({@code hw/arm/virt.c}, {@code base_memmap} and
 * {@code a15irqmap}, unchanged from QEMU 7.2 through 10.x for these entries), so a device tree jvmm writes
 * describes hardware that {@code qemu-system-aarch64 -M virt,gic-version=3} really has at those addresses:
 * that lets a real arm64 kernel running under QEMU check jvmm's tree. Everything below 1 GiB is MMIO;
 * RAM starts at 1 GiB.
 *
 * <p>Two sets of rules constrain the GIC placement (reference/hvf-arm64.md §2.3 "GIC", §4.6, and the GICv3
 * architecture that KVM's vGIC enforces): the distributor is one 64 KiB frame; each redistributor is
 * "two 64 kilobyte frames per vCPU … contiguously placed"; both bases must be aligned (HVF reports the
 * alignment at run time, KVM requires 64 KiB); and Hypervisor.framework maps memory only in 16 KiB pages,
 * so nothing the guest sees as MMIO may share a 16 KiB page with RAM. {@code Arm64LayoutTest} asserts each
 * rule against these constants; the HVF backend must still compare them with what
 * {@code hv_gic_get_*_alignment} reports on the host.
 */
public final class Arm64Layout {

    private Arm64Layout() {}

    public static final long KiB = 1L << 10;
    public static final long MiB = 1L << 20;
    public static final long GiB = 1L << 30;

    // ---- GICv3 ------------------------------------------------------------------------------------

    /** virt's {@code VIRT_GIC_DIST}: the distributor, at the start of the CPU-peripheral window. */
    public static final long GIC_DIST_BASE = 0x0800_0000L;
    /** One 64 KiB frame (GICv3 architecture: GICD_* registers occupy 64 KiB). */
    public static final long GIC_DIST_SIZE = 64 * KiB;
    /**
     * virt's {@code VIRT_GIC_REDIST}: the redistributor region. It follows virt's GICv2 CPU-interface,
     * hypervisor and ITS windows (0x08010000–0x0809ffff), which jvmm leaves empty.
     */
    public static final long GIC_REDIST_BASE = 0x080A_0000L;
    /** One vCPU's redistributor: the RD_base and SGI_base frames of 64 KiB each (GICv3 §12.10). */
    public static final long GIC_REDIST_SIZE_PER_CPU = 128 * KiB;
    /** virt's redistributor window, 0xF60000 bytes: "allows up to 2*64kB*123 CPUs", ending at the UART. */
    public static final long GIC_REDIST_REGION_SIZE = 0x00F6_0000L;
    /** The most vCPUs whose redistributors fit the window (123). */
    public static final int MAX_CPUS = (int) (GIC_REDIST_REGION_SIZE / GIC_REDIST_SIZE_PER_CPU);
    /**
     * The base alignment jvmm guarantees for both GIC regions: the 64 KiB frame size, which is what KVM's
     * {@code KVM_VGIC_V3_ADDR_TYPE_DIST/REDIST} demand and a multiple of HVF's 16 KiB page.
     */
    public static final long GIC_ALIGNMENT = 64 * KiB;

    /**
     * Checks the fixed GIC placement against what an in-kernel GIC reports at run time (Hypervisor.framework's
     * {@code hv_gic_get_distributor_size}, {@code _distributor_base_alignment}, {@code _redistributor_region_size}
     * and {@code _redistributor_base_alignment}, hvf-arm64.md §2.3): both bases aligned as asked, the distributor
     * ending before the redistributors, and the redistributor region — which HVF sizes for every vCPU the VM
     * supports, not just the ones created — ending inside virt's window, before the UART.
     *
     * @throws org.jvmm.core.ConfigurationException naming the first rule this host's GIC breaks
     */
    public static void checkHostGic(long distributorSize, long distributorAlignment, long redistributorRegionSize,
                                    long redistributorAlignment) {
        String problem = null;
        if (distributorAlignment <= 0 || GIC_DIST_BASE % distributorAlignment != 0) {
            problem = "a distributor alignment of 0x" + Long.toHexString(distributorAlignment);
        } else if (redistributorAlignment <= 0 || GIC_REDIST_BASE % redistributorAlignment != 0) {
            problem = "a redistributor alignment of 0x" + Long.toHexString(redistributorAlignment);
        } else if (distributorSize <= 0 || distributorSize > GIC_REDIST_BASE - GIC_DIST_BASE) {
            problem = "a distributor of 0x" + Long.toHexString(distributorSize) + " bytes";
        } else if (redistributorRegionSize <= 0 || redistributorRegionSize > GIC_REDIST_REGION_SIZE) {
            problem = "a redistributor region of 0x" + Long.toHexString(redistributorRegionSize) + " bytes";
        }
        if (problem != null) {
            throw new org.jvmm.core.ConfigurationException("This host's in-kernel GIC needs " + problem
                    + ", which jvmm's arm64 layout cannot honour; please report it with your macOS version and Mac model.");
        }
    }

    /** The size of the redistributor region a guest with {@code cpus} vCPUs needs. */
    public static long gicRedistSize(int cpus) {
        checkCpus(cpus);
        return cpus * GIC_REDIST_SIZE_PER_CPU;
    }

    // ---- Interrupt numbers (GIC INTIDs: SGIs 0–15, PPIs 16–31, SPIs 32–1019) --------------------------

    /** SPIs start at INTID 32; device tree {@code interrupts} cells name SPIs relative to it. */
    public static final int SPI_BASE_INTID = 32;
    /** PPIs start at INTID 16; device tree cells name PPIs relative to it. */
    public static final int PPI_BASE_INTID = 16;
    /** The largest SPI number (INTID 1019 − 32) GICv3 allows. */
    public static final int MAX_SPI = 1019 - SPI_BASE_INTID;
    /** Secure EL1 physical timer PPI (virt's {@code ARCH_TIMER_S_EL1_IRQ}). */
    public static final int PPI_TIMER_SECURE = 13;
    /** Non-secure EL1 physical timer PPI, INTID 30 = HVF's {@code HV_GIC_INT_EL1_PHYSICAL_TIMER}. */
    public static final int PPI_TIMER_NONSECURE = 14;
    /** EL1 virtual timer PPI, INTID 27 = HVF's {@code HV_GIC_INT_EL1_VIRTUAL_TIMER}. */
    public static final int PPI_TIMER_VIRTUAL = 11;
    /** EL2 physical timer PPI, INTID 26 = HVF's {@code HV_GIC_INT_EL2_PHYSICAL_TIMER}. */
    public static final int PPI_TIMER_HYP = 10;
    /** GIC maintenance interrupt PPI, INTID 25 = HVF's {@code HV_GIC_INT_MAINTENANCE} (virt's {@code ARCH_GIC_MAINT_IRQ}). */
    public static final int PPI_GIC_MAINTENANCE = 9;

    // ---- PL011 UART -------------------------------------------------------------------------------

    /** virt's {@code VIRT_UART}: the PL011 the kernel's {@code earlycon} and {@code ttyAMA0} use. */
    public static final long UART_BASE = 0x0900_0000L;
    /** One 4 KiB PrimeCell register page. */
    public static final long UART_SIZE = 4 * KiB;
    /** virt's {@code a15irqmap[VIRT_UART]}: SPI 1 (INTID 33). */
    public static final int UART_SPI = 1;
    /** The PL011 reference clock the tree advertises (virt's 24 MHz {@code apb-pclk}); our model ignores baud rates. */
    public static final int UART_CLOCK_HZ = 24_000_000;

    // ---- virtio-mmio transports -------------------------------------------------------------------

    /** virt's {@code VIRT_MMIO}: the first of the virtio-mmio transports. */
    public static final long VIRTIO_MMIO_BASE = 0x0A00_0000L;
    /** Each transport's window: virt's 0x200, room for the virtio-mmio v2 registers and 256 bytes of config. */
    public static final long VIRTIO_MMIO_SIZE = 0x200;
    /** virt's {@code NUM_VIRTIO_TRANSPORTS}: 32 windows, 0x0a000000–0x0a003fff. */
    public static final int VIRTIO_MMIO_COUNT = 32;
    /** virt's {@code a15irqmap[VIRT_MMIO]}: transport {@code n} raises SPI 16 + n. */
    public static final int VIRTIO_MMIO_FIRST_SPI = 16;

    /** The register window of virtio-mmio transport {@code n} (0 ≤ n < {@link #VIRTIO_MMIO_COUNT}). */
    public static long virtioMmioBase(int n) {
        if (n < 0 || n >= VIRTIO_MMIO_COUNT) {
            throw new IllegalArgumentException("virtio-mmio transport " + n + " outside 0.." + (VIRTIO_MMIO_COUNT - 1));
        }
        return VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE;
    }

    /** The SPI of virtio-mmio transport {@code n}. */
    public static int virtioMmioSpi(int n) {
        virtioMmioBase(n);
        return VIRTIO_MMIO_FIRST_SPI + n;
    }

    // ---- RAM --------------------------------------------------------------------------------------

    /** virt's {@code VIRT_MEM}: RAM starts at 1 GiB, above every MMIO window. 2 MiB- and 16 KiB-aligned. */
    public static final long RAM_BASE = 0x4000_0000L;
    /**
     * The end of guest-physical space jvmm uses: 2^36 = 64 GiB, Hypervisor.framework's default IPA size
     * (hvf-arm64.md §7.4), so no backend needs a larger IPA configured. RAM may therefore be up to 63 GiB.
     */
    public static final long IPA_LIMIT = 1L << 36;
    /** The largest RAM: from {@link #RAM_BASE} to {@link #IPA_LIMIT}. */
    public static final long MAX_RAM_SIZE = IPA_LIMIT - RAM_BASE;
    /**
     * RAM sizes are whole 2 MiB blocks: a multiple of HVF's 16 KiB page and of the 2 MiB block the kernel
     * maps the FDT with (booting.rst), so the FDT slot at the top of RAM is a block of its own.
     */
    public static final long RAM_GRANULE = 2 * MiB;

    // ---- Boot placement (Documentation/arch/arm64/booting.rst) -------------------------------------

    /**
     * The 2 MiB-aligned base the Image is placed at, plus its {@code text_offset} ("The Image must be
     * placed text_offset bytes from a 2MB aligned base address anywhere in usable system memory").
     * The start of RAM, because kernels before 4.6 cannot use memory below their Image.
     */
    public static final long KERNEL_BASE = RAM_BASE;
    /** booting.rst's alignment of the Image's base. */
    public static final long KERNEL_ALIGNMENT = 2 * MiB;
    /**
     * booting.rst: "The device tree blob (dtb) must be placed on an 8-byte boundary and must not exceed 2
     * megabytes in size. Since the dtb will be mapped cacheable using blocks of up to 2 megabytes in size,
     * it must not be placed within any 2M region which must be mapped with any specific attributes."
     * jvmm gives it a 2 MiB block of its own, the last one of RAM (below {@link #BOOT_DATA_LIMIT}).
     */
    public static final long FDT_MAX_SIZE = 2 * MiB;
    /**
     * booting.rst: the initrd "must reside entirely within a 1 GB aligned physical memory window of up to
     * 32 GB in size that fully covers the kernel Image as well". The Image is at 1 GiB (a 1 GiB-aligned
     * address), so the FDT and initrd stay below 1 GiB + 32 GiB even when RAM is larger.
     */
    public static final long BOOT_DATA_LIMIT = RAM_BASE + 32 * GiB;
    /** The initrd's start alignment: 64 KiB, the largest arm64 page size, so any kernel can free it page by page. */
    public static final long INITRD_ALIGNMENT = 64 * KiB;

    /** The end (exclusive) of the boot-data area for {@code ramSize} bytes of RAM: where the FDT slot ends. */
    public static long bootDataEnd(long ramSize) {
        return Math.min(RAM_BASE + ramSize, BOOT_DATA_LIMIT);
    }

    /** Where the FDT goes for {@code ramSize} bytes of RAM: the last 2 MiB block below {@link #bootDataEnd}. */
    public static long fdtAddress(long ramSize) {
        return bootDataEnd(ramSize) - FDT_MAX_SIZE;
    }

    /**
     * Where an initrd of {@code initrdSize} bytes goes: just below the FDT slot, aligned down to
     * {@link #INITRD_ALIGNMENT}, so the kernel (growing up from {@link #KERNEL_BASE}) keeps the most room.
     */
    public static long initrdAddress(long ramSize, long initrdSize) {
        return (fdtAddress(ramSize) - initrdSize) & -INITRD_ALIGNMENT;
    }

    // ---- CPUs -------------------------------------------------------------------------------------

    /**
     * The MPIDR_EL1 affinity of vCPU {@code cpu}: Aff0 = cpu mod 16, Aff1 = cpu / 16, as QEMU's virt does
     * for GICv3 — ICC_SGI1R_EL1 can target only Aff0 values 0–15 in one cluster. It is also the order in
     * which the redistributors sit in their region, which the in-kernel GICs match by affinity.
     */
    public static long mpidr(int cpu) {
        checkCpus(cpu + 1);
        return ((long) (cpu / 16) << 8) | (cpu % 16);
    }

    private static void checkCpus(int cpus) {
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new IllegalArgumentException("arm64 guests have 1.." + MAX_CPUS + " vCPUs, not " + cpus);
        }
    }
}
