package org.jvmm.arm64.fdt;

import static org.jvmm.arm64.Arm64Layout.*;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jvmm.core.platform.DeviceDescription;

/**
 * The device tree of jvmm's arm64 machine: what the kernel learns about CPUs, RAM, the interrupt
 * controller, timer, console and virtio devices, all at the addresses of {@link org.jvmm.arm64.Arm64Layout}.
 *
 * <p>Bindings followed (Linux {@code Documentation/devicetree/bindings}): {@code arm/cpus.yaml} and
 * {@code arm/psci.yaml} (cpus with {@code enable-method = "psci"}, {@code reg} = MPIDR affinity),
 * {@code interrupt-controller/arm,gic-v3.yaml} (3 interrupt cells: type 0 = SPI / 1 = PPI, number, flags),
 * {@code timer/arm,arch_timer.yaml} (secure, non-secure, virtual and hypervisor PPIs, level-high),
 * {@code serial/arm,pl011.yaml} with {@code clock/fixed-clock.yaml}, {@code virtio/mmio.yaml}, and the
 * chosen node ({@code bootargs}, {@code linux,initrd-start/end}, {@code stdout-path}).
 */
public final class MachineDeviceTree {

    /** {@code IRQ_TYPE_EDGE_RISING}: virtio-mmio interrupts, as QEMU's virt declares them. */
    static final int IRQ_EDGE_RISING = 1;
    /** {@code IRQ_TYPE_LEVEL_HIGH}: timer, maintenance and UART interrupts. GICv3 has no PPI CPU mask bits. */
    static final int IRQ_LEVEL_HIGH = 4;
    static final int GIC_SPI = 0;
    static final int GIC_PPI = 1;
    private static final int PHANDLE_GIC = 1;
    private static final int PHANDLE_CLOCK = 2;
    /** The path of the UART node, for {@code stdout-path} (and so for a bare {@code earlycon}). */
    public static final String UART_PATH = "/pl011@" + Long.toHexString(UART_BASE);

    /**
     * What the tree describes.
     *
     * @param cpus        vCPUs, 1..{@link org.jvmm.arm64.Arm64Layout#MAX_CPUS}
     * @param ramSize     RAM bytes from {@link org.jvmm.arm64.Arm64Layout#RAM_BASE}
     * @param bootargs    the kernel command line
     * @param initrdStart guest address of the initrd's first byte (ignored if {@code initrdEnd == initrdStart})
     * @param initrdEnd   guest address one past its last byte; equal to {@code initrdStart} for no initrd
     * @param devices     virtio-mmio devices: MMIO window below RAM and an SPI number
     */
    public record Config(int cpus, long ramSize, String bootargs, long initrdStart, long initrdEnd,
                         List<DeviceDescription> devices) {
        public Config {
            devices = List.copyOf(devices);
        }

        /** Whether an initrd is described. */
        public boolean hasInitrd() { return initrdEnd != initrdStart; }
    }

    private MachineDeviceTree() {}

    /**
     * Builds the blob.
     *
     * @throws IllegalArgumentException if {@code config} cannot be described: CPU count, RAM outside
     *         the layout, an initrd outside RAM, or a device that overlaps another, lies outside the MMIO
     *         area or has an SPI the GIC cannot have
     */
    public static byte[] build(Config config) {
        validate(config);
        FdtWriter w = new FdtWriter();
        w.beginNode("")
                .propertyStrings("compatible", "linux,dummy-virt")
                .propertyStrings("model", "jvmm arm64")
                .propertyU32("#address-cells", 2)
                .propertyU32("#size-cells", 2)
                .propertyU32("interrupt-parent", PHANDLE_GIC);

        w.beginNode("chosen").propertyStrings("bootargs", config.bootargs());
        if (config.hasInitrd()) {
            w.propertyU64("linux,initrd-start", config.initrdStart()).propertyU64("linux,initrd-end", config.initrdEnd());
        }
        w.propertyStrings("stdout-path", UART_PATH).endNode();

        w.beginNode("memory@" + Long.toHexString(RAM_BASE))
                .propertyStrings("device_type", "memory")
                .propertyU64("reg", RAM_BASE, config.ramSize())
                .endNode();

        // Affinities fit in 24 bits (Aff3 = 0 for up to MAX_CPUS), so one address cell suffices.
        w.beginNode("cpus").propertyU32("#address-cells", 1).propertyU32("#size-cells", 0);
        for (int i = 0; i < config.cpus(); i++) {
            long mpidr = mpidr(i);
            w.beginNode("cpu@" + Long.toHexString(mpidr))
                    .propertyStrings("device_type", "cpu")
                    .propertyStrings("compatible", "arm,arm-v8")
                    .propertyStrings("enable-method", "psci")
                    .propertyU32("reg", (int) mpidr)
                    .endNode();
        }
        w.endNode();

        w.beginNode("psci")
                .propertyStrings("compatible", "arm,psci-1.0", "arm,psci-0.2")
                .propertyStrings("method", "hvc")
                .endNode();

        w.beginNode("timer")
                .propertyStrings("compatible", "arm,armv8-timer")
                .propertyU32("interrupts",
                        GIC_PPI, PPI_TIMER_SECURE, IRQ_LEVEL_HIGH,
                        GIC_PPI, PPI_TIMER_NONSECURE, IRQ_LEVEL_HIGH,
                        GIC_PPI, PPI_TIMER_VIRTUAL, IRQ_LEVEL_HIGH,
                        GIC_PPI, PPI_TIMER_HYP, IRQ_LEVEL_HIGH)
                .property("always-on")
                .endNode();

        w.beginNode("intc@" + Long.toHexString(GIC_DIST_BASE))
                .propertyStrings("compatible", "arm,gic-v3")
                .propertyU32("#interrupt-cells", 3)
                // dtc wants #address-cells in every interrupt provider (interrupt-map parsing); 0 = no child addresses.
                .propertyU32("#address-cells", 0)
                .property("interrupt-controller")
                .propertyU64("reg", GIC_DIST_BASE, GIC_DIST_SIZE, GIC_REDIST_BASE, gicRedistSize(config.cpus()))
                .propertyU32("interrupts", GIC_PPI, PPI_GIC_MAINTENANCE, IRQ_LEVEL_HIGH)
                .propertyU32("phandle", PHANDLE_GIC)
                .endNode();

        w.beginNode("apb-pclk")
                .propertyStrings("compatible", "fixed-clock")
                .propertyU32("#clock-cells", 0)
                .propertyU32("clock-frequency", UART_CLOCK_HZ)
                .propertyStrings("clock-output-names", "clk24mhz")
                .propertyU32("phandle", PHANDLE_CLOCK)
                .endNode();

        w.beginNode(UART_PATH.substring(1))
                .propertyStrings("compatible", "arm,pl011", "arm,primecell")
                .propertyU64("reg", UART_BASE, UART_SIZE)
                .propertyU32("interrupts", GIC_SPI, UART_SPI, IRQ_LEVEL_HIGH)
                .propertyU32("clocks", PHANDLE_CLOCK, PHANDLE_CLOCK)
                .propertyStrings("clock-names", "uartclk", "apb_pclk")
                .endNode();

        List<DeviceDescription> devices = new ArrayList<>(config.devices());
        devices.sort(Comparator.comparingLong(DeviceDescription::mmioBase));
        for (DeviceDescription d : devices) {
            w.beginNode("virtio_mmio@" + Long.toHexString(d.mmioBase()))
                    .propertyStrings("compatible", "virtio,mmio")
                    .propertyU64("reg", d.mmioBase(), d.mmioLength())
                    .propertyU32("interrupts", GIC_SPI, d.irq(), IRQ_EDGE_RISING)
                    .property("dma-coherent")
                    .endNode();
        }
        w.endNode();
        return w.finish((int) mpidr(0));
    }

    private static void validate(Config c) {
        if (c.cpus() < 1 || c.cpus() > MAX_CPUS) {
            throw new IllegalArgumentException("arm64 guests have 1.." + MAX_CPUS + " vCPUs, not " + c.cpus());
        }
        if (c.ramSize() <= 0 || c.ramSize() > MAX_RAM_SIZE) {
            throw new IllegalArgumentException("RAM size " + c.ramSize() + " outside 1.." + MAX_RAM_SIZE);
        }
        if (c.hasInitrd() && (c.initrdStart() < RAM_BASE || c.initrdEnd() < c.initrdStart()
                || c.initrdEnd() > RAM_BASE + c.ramSize())) {
            throw new IllegalArgumentException("initrd [0x%x, 0x%x) is not inside RAM".formatted(c.initrdStart(), c.initrdEnd()));
        }
        List<long[]> taken = new ArrayList<>();
        taken.add(new long[] {GIC_DIST_BASE, GIC_DIST_BASE + GIC_DIST_SIZE});
        taken.add(new long[] {GIC_REDIST_BASE, GIC_REDIST_BASE + GIC_REDIST_REGION_SIZE});
        taken.add(new long[] {UART_BASE, UART_BASE + UART_SIZE});
        List<Integer> spis = new ArrayList<>(List.of(UART_SPI));
        for (DeviceDescription d : c.devices()) {
            if (!d.kind().equals("virtio-mmio")) {
                throw new IllegalArgumentException("the arm64 device tree describes virtio-mmio devices only, not " + d.kind());
            }
            long end = d.mmioBase() + d.mmioLength();
            if (d.mmioBase() < 0 || d.mmioLength() <= 0 || end > RAM_BASE || end < d.mmioBase()) {
                throw new IllegalArgumentException("device window " + d + " is not inside the MMIO area below RAM");
            }
            for (long[] t : taken) {
                if (d.mmioBase() < t[1] && t[0] < end) {
                    throw new IllegalArgumentException("device window " + d + " overlaps [0x%x, 0x%x)".formatted(t[0], t[1]));
                }
            }
            if (d.irq() < 0 || d.irq() > MAX_SPI || spis.contains(d.irq())) {
                throw new IllegalArgumentException("device " + d + " needs a free SPI in 0.." + MAX_SPI);
            }
            taken.add(new long[] {d.mmioBase(), end});
            spis.add(d.irq());
        }
    }
}
