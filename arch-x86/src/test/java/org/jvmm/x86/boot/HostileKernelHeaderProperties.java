package org.jvmm.x86.boot;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.loader.BzImage;
import org.jvmm.loader.KernelImage;
import org.jvmm.x86.X86Layout;

/**
 * A kernel file is untrusted input too: whatever its header says about sizes and addresses, loading it
 * either succeeds inside guest RAM or fails with a ConfigurationException — never another exception,
 * never a write outside RAM.
 */
class HostileKernelHeaderProperties {

    static final long MEMORY = 64L << 20;
    static final GuestMemory RAM = new GuestMemory(
            List.of(new MemoryRegion(0, Arena.global().allocate(MEMORY, 4096), -1, 0)), () -> {});

    @Property(tries = 300)
    void anyHeaderLoadsOrIsRefusedWithASentence(@ForAll int initSize, @ForAll long prefAddress, @ForAll int alignmentShift,
                                                @ForAll boolean relocatable, @ForAll int initrdAddrMax, @ForAll int cmdlineSize,
                                                @ForAll @IntRange(min = 0, max = 300) int cmdlineLength) {
        byte[] f = new byte[0x400 + 0x1000];
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) 1).putInt(0x1f4, 0x100).putShort(0x1fe, (short) 0xaa55).put(0x200, (byte) 0xeb)
                .put(0x201, (byte) 0x6a).put(0x202, (byte) 'H').put(0x203, (byte) 'd').put(0x204, (byte) 'r')
                .put(0x205, (byte) 'S').putShort(0x206, (short) 0x020f).put(0x211, (byte) 1)
                .putInt(0x22c, initrdAddrMax).putInt(0x230, 1 << Math.floorMod(alignmentShift, 31))
                .put(0x234, (byte) (relocatable ? 1 : 0)).putShort(0x236, (short) 1).putInt(0x238, cmdlineSize)
                .putLong(0x258, prefAddress).putInt(0x260, initSize);
        BzImage kernel;
        try {
            kernel = (BzImage) KernelImage.parse("hostile", f);
        } catch (ConfigurationException refused) {
            return;
        }
        try {
            LinuxBoot.Placement p = LinuxBoot.load(RAM, MEMORY, kernel, "x".repeat(cmdlineLength), Optional.empty(), X86Layout.RSDP);
            assertTrue(p.kernelAddress() >= X86Layout.KERNEL_LOAD);
            assertTrue(p.kernelAddress() + Math.max(kernel.initSize(), kernel.protectedModeKernelSize()) <= MEMORY);
        } catch (ConfigurationException refused) {
            assertTrue(refused.getMessage().endsWith("."), refused.getMessage());
        }
    }
}
