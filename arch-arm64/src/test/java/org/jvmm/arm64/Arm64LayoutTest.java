package org.jvmm.arm64;

import static org.jvmm.arm64.Arm64Layout.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/**
 * The layout against QEMU virt's map (hw/arm/virt.c, values copied here by hand), the GIC placement rules of
 * reference/hvf-arm64.md (§2.3 GIC, §4.6, §7.2) and GICv3, and booting.rst's placement rules.
 */
class Arm64LayoutTest {

    private static final long HVF_PAGE = 16 * 1024;
    private static final long GIC_FRAME = 64 * 1024;

    @Test
    void matchesQemuVirt() {
        assertEquals(0x0800_0000L, GIC_DIST_BASE, "VIRT_GIC_DIST");
        assertEquals(0x080A_0000L, GIC_REDIST_BASE, "VIRT_GIC_REDIST");
        assertEquals(0x00F6_0000L, GIC_REDIST_REGION_SIZE, "VIRT_GIC_REDIST size");
        assertEquals(0x0900_0000L, UART_BASE, "VIRT_UART");
        assertEquals(1, UART_SPI, "a15irqmap[VIRT_UART]");
        assertEquals(0x0a00_0000L, virtioMmioBase(0), "VIRT_MMIO");
        assertEquals(0x0a00_3e00L, virtioMmioBase(31), "VIRT_MMIO + 31 * 0x200");
        assertEquals(16, virtioMmioSpi(0), "a15irqmap[VIRT_MMIO]");
        assertEquals(47, virtioMmioSpi(31));
        assertEquals(0x4000_0000L, RAM_BASE, "VIRT_MEM");
        assertEquals(123, MAX_CPUS, "2*64kB*123 CPUs");
        assertThrows(IllegalArgumentException.class, () -> virtioMmioBase(32));
        assertThrows(IllegalArgumentException.class, () -> virtioMmioBase(-1));
    }

    @Test
    void gicRegionsFollowTheAlignmentRules() {
        // Distributor: one 64 KiB frame at a 64 KiB-aligned base (GICv3, KVM_VGIC_V3_ADDR_TYPE_DIST), which is
        // also a whole number of HVF's 16 KiB pages so it never shares a page with mapped memory (hvf §7.2).
        assertEquals(GIC_FRAME, GIC_DIST_SIZE);
        assertEquals(0, GIC_DIST_BASE % GIC_FRAME);
        assertEquals(0, GIC_DIST_BASE % HVF_PAGE);
        assertEquals(0, GIC_ALIGNMENT % HVF_PAGE);
        // Redistributors: "two 64 kilobyte frames per vCPU and is contiguously placed" (hv_gic_get_redistributor_region_size).
        assertEquals(2 * GIC_FRAME, GIC_REDIST_SIZE_PER_CPU);
        assertEquals(0, GIC_REDIST_BASE % GIC_FRAME);
        assertEquals(0, GIC_REDIST_BASE % GIC_ALIGNMENT);
        for (int cpus = 1; cpus <= MAX_CPUS; cpus++) {
            assertEquals(cpus * 0x20000L, gicRedistSize(cpus));
            assertTrue(GIC_REDIST_BASE + gicRedistSize(cpus) <= GIC_REDIST_BASE + GIC_REDIST_REGION_SIZE);
        }
        assertThrows(IllegalArgumentException.class, () -> gicRedistSize(MAX_CPUS + 1));
        assertThrows(IllegalArgumentException.class, () -> gicRedistSize(0));
        // The distributor does not run into the redistributors.
        assertTrue(GIC_DIST_BASE + GIC_DIST_SIZE <= GIC_REDIST_BASE);
    }

    @Test
    void gicIntidsMatchHypervisorFramework() {
        // hv_gic_intid_t (hvf §3.6): maintenance 25, EL2 physical timer 26, EL1 virtual timer 27, EL1 physical timer 30.
        assertEquals(25, PPI_BASE_INTID + PPI_GIC_MAINTENANCE);
        assertEquals(26, PPI_BASE_INTID + PPI_TIMER_HYP);
        assertEquals(27, PPI_BASE_INTID + PPI_TIMER_VIRTUAL);
        assertEquals(30, PPI_BASE_INTID + PPI_TIMER_NONSECURE);
        assertEquals(29, PPI_BASE_INTID + PPI_TIMER_SECURE);
    }

    @Test
    void mmioWindowsAreDisjointAndBelowRam() {
        List<long[]> windows = new ArrayList<>(List.of(
                new long[] {GIC_DIST_BASE, GIC_DIST_SIZE},
                new long[] {GIC_REDIST_BASE, GIC_REDIST_REGION_SIZE},
                new long[] {UART_BASE, UART_SIZE}));
        for (int n = 0; n < VIRTIO_MMIO_COUNT; n++) windows.add(new long[] {virtioMmioBase(n), VIRTIO_MMIO_SIZE});
        for (int i = 0; i < windows.size(); i++) {
            long[] a = windows.get(i);
            assertTrue(a[0] + a[1] <= RAM_BASE, "below RAM");
            for (int j = i + 1; j < windows.size(); j++) {
                long[] b = windows.get(j);
                assertTrue(a[0] + a[1] <= b[0] || b[0] + b[1] <= a[0], "overlap at 0x" + Long.toHexString(b[0]));
            }
        }
        // RAM's start is a 16 KiB page (HVF), a 2 MiB block (booting.rst) and a 1 GiB boundary (initrd window).
        assertEquals(0, RAM_BASE % HVF_PAGE);
        assertEquals(0, RAM_BASE % (2 << 20));
        assertEquals(0, RAM_BASE % (1L << 30));
        assertEquals(0, RAM_GRANULE % HVF_PAGE);
        for (int n = 0; n < VIRTIO_MMIO_COUNT; n++) assertNotEquals(UART_SPI, virtioMmioSpi(n));
    }

    @Test
    void mpidrsAreUniqueAffinities() {
        assertEquals(0, mpidr(0));
        assertEquals(15, mpidr(15));
        assertEquals(0x100, mpidr(16));
        assertEquals(0x70a, mpidr(122));
        assertEquals(MAX_CPUS, java.util.stream.IntStream.range(0, MAX_CPUS).mapToLong(Arm64Layout::mpidr).distinct().count());
        assertThrows(IllegalArgumentException.class, () -> mpidr(MAX_CPUS));
    }

    @Property(tries = 500)
    void bootDataFollowsBootingRst(@ForAll @LongRange(min = 16, max = 32256) long ramMiB2,
                                   @ForAll @LongRange(min = 1, max = 64 << 20) long initrdSize) {
        long ramSize = ramMiB2 * 2 * MiB;
        long fdt = fdtAddress(ramSize);
        // The FDT's 2 MiB slot is a whole, 2 MiB-aligned block inside RAM (so 8-byte aligned too).
        assertEquals(0, fdt % (2 * MiB));
        assertTrue(fdt >= RAM_BASE && fdt + FDT_MAX_SIZE <= RAM_BASE + ramSize);
        // Within the 32 GiB window from the 1 GiB-aligned kernel base.
        assertTrue(fdt + FDT_MAX_SIZE <= RAM_BASE + 32 * GiB);
        long initrd = initrdAddress(ramSize, initrdSize);
        assertEquals(0, initrd % (64 * KiB));
        assertTrue(initrd + initrdSize <= fdt, "initrd below the FDT");
        assertTrue(fdt - (initrd + initrdSize) < 64 * KiB, "and right below it");
    }

    @Property(tries = 200)
    void everyVirtioTransportIsInsideTheWindow(@ForAll @IntRange(min = 0, max = 31) int n) {
        assertTrue(virtioMmioBase(n) >= 0x0a00_0000L && virtioMmioBase(n) + VIRTIO_MMIO_SIZE <= 0x0a00_4000L);
    }

    @Test
    void hostGicParametersAreChecked() {
        // What QEMU virt and KVM use: a 64 KiB distributor, 64 KiB alignment, 123 redistributors.
        Arm64Layout.checkHostGic(0x10000, 0x10000, 0xF60000, 0x10000);
        // Smaller requirements (HVF's 16 KiB pages; 64 vCPUs) fit too.
        Arm64Layout.checkHostGic(0x10000, 0x4000, 64 * 0x20000, 0x4000);
        Arm64Layout.checkHostGic(0x10000, 0x100000, 0xF60000, 0x10000); // 0x08000000 is even 1 MiB-aligned
        assertThrows(org.jvmm.core.ConfigurationException.class,
                () -> Arm64Layout.checkHostGic(0x10000, 0x10000, 0xF60000, 0x100000), "0x080a0000 is not 1 MiB aligned");
        assertThrows(org.jvmm.core.ConfigurationException.class,
                () -> Arm64Layout.checkHostGic(0x10000, 0x10000, 0x1000000, 0x10000), "region runs into the UART");
        assertThrows(org.jvmm.core.ConfigurationException.class,
                () -> Arm64Layout.checkHostGic(0xB0000, 0x10000, 0xF60000, 0x10000), "distributor runs into the redistributors");
        assertThrows(org.jvmm.core.ConfigurationException.class,
                () -> Arm64Layout.checkHostGic(0x10000, 0, 0xF60000, 0x10000));
    }
}
