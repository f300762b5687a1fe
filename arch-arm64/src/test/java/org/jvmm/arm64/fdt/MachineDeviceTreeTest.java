package org.jvmm.arm64.fdt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.ArrayList;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;
import net.jqwik.api.constraints.CharRange;
import org.jvmm.arm64.Arm64Layout;
import org.jvmm.core.platform.DeviceDescription;
import org.junit.jupiter.api.Test;

/**
 * Checks jvmm's arm64 device tree through dtc, an independent reader: it must decompile without a single
 * warning, and the decompiled source must say what the bindings require. Expected values are written out
 * by hand from the layout (QEMU virt's map) and the bindings, not computed by the code under test.
 */
class MachineDeviceTreeTest {

    private static final long MiB = 1L << 20;

    private static MachineDeviceTree.Config config(int cpus, boolean initrd) {
        return new MachineDeviceTree.Config(cpus, 512 * MiB, "console=ttyAMA0 earlycon panic=-1",
                initrd ? 0x5f000000L : 0, initrd ? 0x5f123456L : 0,
                List.of(new DeviceDescription("virtio-mmio", 0x0a003e00L, 0x200, 47),
                        new DeviceDescription("virtio-mmio", 0x0a000000L, 0x200, 16)));
    }

    private static String dts(MachineDeviceTree.Config c) throws Exception {
        Dtc.Result r = Dtc.decompile(MachineDeviceTree.build(c));
        assertEquals(0, r.exitCode(), r.diagnostics());
        assertEquals("", r.diagnostics(), "dtc must print no warnings");
        return r.dts();
    }

    /** The body of the node whose name line matches {@code name}, up to its closing brace (no nested nodes). */
    private static String node(String dts, String name) {
        Matcher m = Pattern.compile("\\n\\s*" + Pattern.quote(name) + " \\{\\n(.*?)\\n\\s*\\};", Pattern.DOTALL).matcher(dts);
        assertTrue(m.find(), "no node " + name + " in\n" + dts);
        return m.group(1);
    }

    @Test
    void decompilesWithoutWarningsAndDescribesTheMachine() throws Exception {
        String dts = dts(config(4, true));

        assertTrue(dts.contains("compatible = \"linux,dummy-virt\";"), dts);
        assertTrue(dts.contains("#address-cells = <0x02>;"), dts);
        assertTrue(dts.contains("interrupt-parent = <0x01>;"), dts);

        String memory = node(dts, "memory@40000000");
        assertTrue(memory.contains("reg = <0x00 0x40000000 0x00 0x20000000>;"), memory);
        assertTrue(memory.contains("device_type = \"memory\";"), memory);

        String chosen = node(dts, "chosen");
        assertTrue(chosen.contains("bootargs = \"console=ttyAMA0 earlycon panic=-1\";"), chosen);
        assertTrue(chosen.contains("linux,initrd-start = <0x00 0x5f000000>;"), chosen);
        assertTrue(chosen.contains("linux,initrd-end = <0x00 0x5f123456>;"), chosen);
        assertTrue(chosen.contains("stdout-path = \"/pl011@9000000\";"), chosen);

        assertEquals(4, Pattern.compile("cpu@\\d+ \\{").matcher(dts).results().count(), dts);
        for (int i = 0; i < 4; i++) {
            String cpu = node(dts, "cpu@" + i);
            assertTrue(cpu.contains("reg = <0x0" + i + ">;"), cpu);
            assertTrue(cpu.contains("enable-method = \"psci\";"), cpu);
            assertTrue(cpu.contains("compatible = \"arm,arm-v8\";"), cpu);
            assertTrue(cpu.contains("device_type = \"cpu\";"), cpu);
        }

        String psci = node(dts, "psci");
        assertTrue(psci.contains("compatible = \"arm,psci-1.0\\0arm,psci-0.2\";"), psci);
        assertTrue(psci.contains("method = \"hvc\";"), psci);

        // GICD 64 KiB at 0x08000000; four redistributors of 128 KiB at 0x080a0000; maintenance PPI 9 level-high.
        String gic = node(dts, "intc@8000000");
        assertTrue(gic.contains("compatible = \"arm,gic-v3\";"), gic);
        assertTrue(gic.contains("reg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x80000>;"), gic);
        assertTrue(gic.contains("#interrupt-cells = <0x03>;"), gic);
        assertTrue(gic.contains("interrupt-controller;"), gic);
        assertTrue(gic.contains("interrupts = <0x01 0x09 0x04>;"), gic);
        assertTrue(gic.contains("phandle = <0x01>;"), gic);

        String timer = node(dts, "timer");
        assertTrue(timer.contains("compatible = \"arm,armv8-timer\";"), timer);
        assertTrue(timer.contains("interrupts = <0x01 0x0d 0x04 0x01 0x0e 0x04 0x01 0x0b 0x04 0x01 0x0a 0x04>;"), timer);
        assertTrue(timer.contains("always-on;"), timer);

        String uart = node(dts, "pl011@9000000");
        assertTrue(uart.contains("compatible = \"arm,pl011\\0arm,primecell\";"), uart);
        assertTrue(uart.contains("reg = <0x00 0x9000000 0x00 0x1000>;"), uart);
        assertTrue(uart.contains("interrupts = <0x00 0x01 0x04>;"), uart);
        assertTrue(uart.contains("clocks = <0x02 0x02>;"), uart);
        assertTrue(uart.contains("clock-names = \"uartclk\\0apb_pclk\";"), uart);

        String clock = node(dts, "apb-pclk");
        assertTrue(clock.contains("compatible = \"fixed-clock\";"), clock);
        assertTrue(clock.contains("phandle = <0x02>;"), clock);
        assertTrue(clock.contains("#clock-cells = <0x00>;"), clock);

        String v0 = node(dts, "virtio_mmio@a000000");
        assertTrue(v0.contains("compatible = \"virtio,mmio\";"), v0);
        assertTrue(v0.contains("reg = <0x00 0xa000000 0x00 0x200>;"), v0);
        assertTrue(v0.contains("interrupts = <0x00 0x10 0x01>;"), v0);
        assertTrue(v0.contains("dma-coherent;"), v0);
        String v31 = node(dts, "virtio_mmio@a003e00");
        assertTrue(v31.contains("interrupts = <0x00 0x2f 0x01>;"), v31);
        assertTrue(dts.indexOf("virtio_mmio@a000000") < dts.indexOf("virtio_mmio@a003e00"), "devices in address order");
    }

    @Test
    void withoutInitrdChosenHasNoInitrdProperties() throws Exception {
        String chosen = node(dts(config(1, false)), "chosen");
        assertFalse(chosen.contains("linux,initrd"), chosen);
    }

    @Test
    void seventeenCpusUseAff1ForTheSecondCluster() throws Exception {
        String dts = dts(config(17, false));
        assertEquals(17, Pattern.compile("cpu@[0-9a-f]+ \\{").matcher(dts).results().count(), dts);
        assertTrue(node(dts, "cpu@f").contains("reg = <0x0f>;"));
        assertTrue(node(dts, "cpu@100").contains("reg = <0x100>;"), "CPU 16 is Aff1 = 1, Aff0 = 0");
        // 17 redistributors × 0x20000 = 0x220000
        assertTrue(node(dts, "intc@8000000").contains("0x00 0x80a0000 0x00 0x220000>;"));
    }

    @Test
    void rejectsDevicesThatCollideOrHaveNoValidSpi() {
        var uartOverlap = new MachineDeviceTree.Config(1, 512 * MiB, "", 0, 0,
                List.of(new DeviceDescription("virtio-mmio", 0x09000800L, 0x200, 20)));
        assertThrows(IllegalArgumentException.class, () -> MachineDeviceTree.build(uartOverlap));
        var sameSpi = new MachineDeviceTree.Config(1, 512 * MiB, "", 0, 0,
                List.of(new DeviceDescription("virtio-mmio", 0x0a000000L, 0x200, 16),
                        new DeviceDescription("virtio-mmio", 0x0a000200L, 0x200, 16)));
        assertThrows(IllegalArgumentException.class, () -> MachineDeviceTree.build(sameSpi));
        var inRam = new MachineDeviceTree.Config(1, 512 * MiB, "", 0, 0,
                List.of(new DeviceDescription("virtio-mmio", 0x40000000L, 0x200, 16)));
        assertThrows(IllegalArgumentException.class, () -> MachineDeviceTree.build(inRam));
        var spiTooLarge = new MachineDeviceTree.Config(1, 512 * MiB, "", 0, 0,
                List.of(new DeviceDescription("virtio-mmio", 0x0a000000L, 0x200, 988)));
        assertThrows(IllegalArgumentException.class, () -> MachineDeviceTree.build(spiTooLarge));
        var initrdOutside = new MachineDeviceTree.Config(1, 512 * MiB, "", 0x3000_0000L, 0x3000_1000L, List.of());
        assertThrows(IllegalArgumentException.class, () -> MachineDeviceTree.build(initrdOutside));
    }

    @Property(tries = 25)
    void anyMachineDecompilesCleanly(@ForAll @IntRange(min = 1, max = 123) int cpus,
                                     @ForAll @IntRange(min = 16, max = 32000) int ram2MiB,
                                     @ForAll @Size(max = 32) Set<@IntRange(min = 0, max = 31) Integer> transports,
                                     @ForAll @StringLength(max = 200) @CharRange(from = ' ', to = '~') String bootargs)
            throws Exception {
        List<DeviceDescription> devices = new ArrayList<>();
        for (int n : transports) {
            devices.add(new DeviceDescription("virtio-mmio", Arm64Layout.virtioMmioBase(n), Arm64Layout.VIRTIO_MMIO_SIZE,
                    Arm64Layout.virtioMmioSpi(n)));
        }
        String dts = dts(new MachineDeviceTree.Config(cpus, ram2MiB * 2 * MiB, bootargs, 0, 0, devices));
        assertEquals(cpus, Pattern.compile("\\bcpu@[0-9a-f]+ \\{").matcher(dts).results().count());
        assertEquals(transports.size(), Pattern.compile("virtio_mmio@").matcher(dts).results().count());
    }
}
