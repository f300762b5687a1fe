package org.jvmm.arm64.hvf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.math.BigInteger;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.jvmm.arm64.Arm64Layout;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.hypervisor.HypervisorException;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.memory.MemoryRegion;
import org.junit.jupiter.api.Test;

/** The HVF backend's rules that need no guest: error mapping, load extension, VM creation on hvfsim. */
class HvfBackendTest {

    @Test
    void deniedNamesTheEntitlementAndTheCommandThatFixesIt() {
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> Hvf.check("hv_vm_create", Hvf.HV_DENIED));
        assertTrue(e.getMessage().contains("com.apple.security.hypervisor"), e.getMessage());
        assertTrue(e.getMessage().contains("bin/sign-macos-runtime"), e.getMessage());
    }

    @Test
    void unsupportedBusyAndNoResourcesSayWhatToDo() {
        assertTrue(assertThrows(ConfigurationException.class, () -> Hvf.check("hv_vm_create", Hvf.HV_UNSUPPORTED))
                .getMessage().contains("macOS 15 or later"));
        assertTrue(assertThrows(ConfigurationException.class, () -> Hvf.check("hv_vm_create", Hvf.HV_BUSY))
                .getMessage().contains("one VM at a time"));
        assertTrue(assertThrows(ConfigurationException.class, () -> Hvf.check("hv_vcpu_create", Hvf.HV_NO_RESOURCES))
                .getMessage().contains("stop other virtual machines"));
        HypervisorException other = assertThrows(HypervisorException.class, () -> Hvf.check("hv_vm_map", Hvf.HV_BAD_ARGUMENT));
        assertEquals("hv_vm_map failed: HV_BAD_ARGUMENT (0xfae94003)", other.getMessage());
        Hvf.check("hv_vm_map", Hvf.HV_SUCCESS);
    }

    /** Reference: the loaded bytes as a number, extended by the rules of LDR/LDRS* into a W or X register. */
    @Property
    void loadsExtendLikeTheArchitecture(@ForAll long device, @ForAll("sizes") int size, @ForAll boolean signExtend,
                                        @ForAll boolean sixtyFour) {
        BigInteger loaded = BigInteger.valueOf(device).and(BigInteger.ONE.shiftLeft(8 * size).subtract(BigInteger.ONE));
        if (signExtend && loaded.testBit(8 * size - 1)) loaded = loaded.subtract(BigInteger.ONE.shiftLeft(8 * size));
        int width = sixtyFour ? 64 : 32;
        long expected = loaded.and(BigInteger.ONE.shiftLeft(width).subtract(BigInteger.ONE)).longValue();
        assertEquals(expected, HvfArm64Vcpu.loadedValue(device, size, signExtend, sixtyFour));
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<Integer> sizes() {
        return net.jqwik.api.Arbitraries.of(1, 2, 4, 8);
    }

    /** The simulator's record of an SPI line (hvfsim's test-only {@code hvsim_spi_level}). */
    private static int spiLevel(int intid) throws Throwable {
        MethodHandle h = Linker.nativeLinker().downcallHandle(
                SymbolLookup.libraryLookup(Path.of(System.getProperty(Hvf.LIBRARY_PROPERTY)), Arena.global())
                        .find("hvsim_spi_level").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        return (int) h.invokeExact(intid);
    }

    @Test
    void oneVmPerProcessAndMemoryMustBeWhole16KiBPages() throws Throwable {
        HvfSim.install();
        try (HvfArm64Hypervisor hv = HvfArm64Hypervisor.open();
             GuestMemory first = HvfArm64Hypervisor.allocateMemory(List.of(new MemoryRange(Arm64Layout.RAM_BASE, 16L << 20)));
             GuestMemory second = HvfArm64Hypervisor.allocateMemory(List.of(new MemoryRange(Arm64Layout.RAM_BASE, 16L << 20)))) {
            assertTrue(hv.name().contains("simulated"), hv.name());
            try (Vm vm = hv.createVm(first)) {
                ConfigurationException busy = assertThrows(ConfigurationException.class, () -> hv.createVm(second));
                assertTrue(busy.getMessage().contains("HV_BUSY"), busy.getMessage());
                assertThrows(IllegalArgumentException.class, () -> vm.irqLine(Arm64Layout.MAX_SPI + 1));
                // SPI n is GIC INTID 32 + n (hv_gic_set_spi takes the INTID): the simulator shows the level it got.
                vm.irqLine(Arm64Layout.UART_SPI).set(true);
                assertEquals(1, spiLevel(33));
                vm.irqLine(Arm64Layout.UART_SPI).set(false);
                assertEquals(0, spiLevel(33));
                assertEquals(0, spiLevel(32), "no other line moved");
            }
            // Closed, the VM makes room for the next one.
            hv.createVm(second).close();

            assertThrows(IllegalArgumentException.class,
                    () -> HvfArm64Hypervisor.allocateMemory(List.of(new MemoryRange(Arm64Layout.RAM_BASE + 0x1000, 16L << 20))));
            try (Arena arena = Arena.ofConfined()) {
                GuestMemory odd = new GuestMemory(List.of(new MemoryRegion(Arm64Layout.RAM_BASE + 0x1000,
                        arena.allocate(1 << 20, 1 << 14), -1, 0)), () -> {});
                assertThrows(IllegalArgumentException.class, () -> hv.createVm(odd));
            }
        } finally {
            HvfSim.uninstall();
        }
    }
}
