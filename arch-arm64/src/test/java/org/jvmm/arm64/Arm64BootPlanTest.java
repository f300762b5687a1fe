package org.jvmm.arm64;

import static org.junit.jupiter.api.Assertions.*;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.jvmm.core.ConfigurationException;

/** booting.rst's placement rules hold for every kernel, initrd and RAM size, or the plan refuses with a ConfigurationException. */
class Arm64BootPlanTest {

    private static final long MiB = 1L << 20;

    @Property(tries = 2000)
    void placementsAreAlignedDisjointAndInsideRam(@ForAll @IntRange(min = 16, max = 32256) int ram2MiB,
                                                  @ForAll @LongRange(min = 0, max = 0x1f_ffffL) long textOffset,
                                                  @ForAll @LongRange(min = 0, max = 1L << 32) long kernelSize,
                                                  @ForAll @LongRange(min = 0, max = 1L << 31) long initrdSize) {
        long ram = ram2MiB * 2 * MiB;
        Arm64BootPlan p;
        try {
            p = Arm64BootPlan.plan(ram, textOffset, kernelSize, initrdSize);
        } catch (ConfigurationException e) {
            // Refused only when they really do not fit below the FDT's 2 MiB block.
            long room = Math.min(ram, 32L << 30) - 2 * MiB;
            assertTrue(textOffset + kernelSize + initrdSize > room - 64 * 1024, e.getMessage());
            return;
        }
        long ramEnd = 0x4000_0000L + ram;
        assertEquals(0, (p.kernelAddress() - textOffset) % (2 * MiB), "2 MiB-aligned base + text_offset");
        assertTrue(p.kernelAddress() >= 0x4000_0000L);
        assertTrue(p.kernelEnd() <= p.initrdAddress(), "kernel below initrd");
        assertTrue(p.initrdEnd() <= p.fdtAddress(), "initrd below FDT");
        assertEquals(0, p.fdtAddress() % 8, "FDT 8-byte aligned");
        assertTrue(p.fdtAddress() + 2 * MiB <= ramEnd, "FDT's 2 MiB inside RAM");
        assertTrue(p.fdtAddress() + 2 * MiB <= 0x4000_0000L + (32L << 30), "in the 32 GiB window of the kernel's 1 GiB");
        if (initrdSize > 0) assertEquals(0, p.initrdAddress() % (64 * 1024));
    }
}
