package org.jvmm.x86;

import java.util.List;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.platform.Assembly;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.core.platform.MachineConfig;
import org.jvmm.core.platform.Platform;
import org.jvmm.core.platform.VirtioMmioSlots;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.loader.Arm64Image;
import org.jvmm.loader.BzImage;
import org.jvmm.loader.ElfKernel;
import org.jvmm.loader.KernelImage;
import org.jvmm.x86.acpi.AcpiTables;
import org.jvmm.x86.boot.BootCpu;
import org.jvmm.x86.boot.ElfBoot;
import org.jvmm.x86.boot.LinuxBoot;
import org.jvmm.x86.cpu.X86Vm;
import org.jvmm.x86.devices.AcpiSleepControl;
import org.jvmm.x86.devices.I8042;
import org.jvmm.x86.devices.SystemControl;
import org.jvmm.x86.devices.Uart8250;

/**
 * The x86-64 PC-like platform: RAM around the 32-bit hole, COM1, an i8042 for reset, the ACPI sleep
 * register for power-off, ACPI tables describing them (and the virtio-mmio devices), and the kernel
 * entered through Linux's 64-bit boot protocol (bzImage, or ELF vmlinux without a PVH note) or the PVH
 * boot ABI (ELF vmlinux with one).
 *
 * <p>Command line: jvmm appends {@code console=ttyS0} when the user's command line names no
 * {@code console=}, so a bare kernel prints to the terminal by default, and {@code pci=off} when it has no
 * {@code pci=}: this machine has no PCI host bridge, and without it Linux probes configuration space and
 * the AGP aperture through ports 0xCF8/0xCFC, thousands of exits that find nothing (measured in the nested
 * rig: most of the time before the console came up). Nothing else is added (the kernel finds the RSDP
 * through boot_params.acpi_rsdp_addr, or by scanning the BIOS area on kernels older than protocol 2.14).
 */
public final class X86Platform implements Platform {

    /** Appended to a command line without {@code console=}: the kernel console on COM1. */
    static final String DEFAULT_CONSOLE = "console=ttyS0";
    /** Appended to a command line without {@code pci=}: there is no PCI bus to probe. */
    static final String NO_PCI = "pci=off";
    /** 8-bit xAPIC IDs in the MADT. */
    static final int MAX_CPUS = 255;

    @Override
    public String arch() {
        return "x86_64";
    }

    /** X86Layout's virtio-mmio window: one 4 KiB slot per IOAPIC pin from GSI 5 up. */
    @Override
    public VirtioMmioSlots virtioMmioSlots() {
        return new VirtioMmioSlots(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE,
                java.util.stream.IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList());
    }

    @Override
    public Hypervisor openHypervisor() {
        String host = Platforms.hostArch();
        if (!host.equals("x86_64")) {
            throw new ConfigurationException("x86_64 guests need an x86-64 host, and this one is " + host
                    + ": use --arch " + host + ".");
        }
        return X86Hypervisors.open();
    }

    @Override
    public GuestMemory allocateMemory(MachineConfig config) {
        long bytes = config.memoryBytes();
        if (bytes < X86Layout.MIN_MEMORY || bytes > X86Layout.MAX_MEMORY) {
            throw new ConfigurationException("Guest memory of " + bytes + " bytes is outside what an x86 guest can use:"
                    + " give between " + (X86Layout.MIN_MEMORY >> 20) + " MiB and " + (X86Layout.MAX_MEMORY >> 30) + " GiB.");
        }
        if (bytes % (2L << 20) != 0) {
            throw new ConfigurationException("Guest memory of " + bytes + " bytes is not a whole number of 2 MiB pages:"
                    + " give a multiple of 2 MiB, for example " + ((bytes >> 21) + 1) * 2 + "M.");
        }
        return SharedGuestMemory.allocate(X86Layout.ramRanges(bytes));
    }

    @Override
    public Assembly assemble(Vm vm, MachineConfig config, Bus mmio, Bus pio, List<DeviceDescription> extraDevices) {
        if (!(vm instanceof X86Vm x86)) {
            throw new IllegalArgumentException("the x86 platform needs an x86 VM, not " + vm.getClass().getName());
        }
        if (config.cpus() > MAX_CPUS) {
            throw new ConfigurationException(config.cpus() + " vCPUs are more than an x86 guest with xAPIC IDs can address:"
                    + " give at most " + MAX_CPUS + ".");
        }
        KernelImage kernel = KernelImage.read(config.kernel());
        GuestMemory memory = vm.memory();

        for (AcpiTables.Placed t : AcpiTables.build(config.cpus(), extraDevices)) memory.write(t.address(), t.bytes());
        String cmdline = commandLine(config.cmdline());
        BootCpu boot = switch (kernel) {
            case BzImage z -> LinuxBoot.load(memory, config.memoryBytes(), z, cmdline, config.initrd(), X86Layout.RSDP).bootCpu();
            case ElfKernel e -> ElfBoot.load(memory, config.memoryBytes(), e, cmdline, config.initrd(), X86Layout.RSDP);
            case Arm64Image a -> throw new ConfigurationException(a.name() + " is an arm64 kernel: run it with --arch arm64.");
        };

        SystemControl control = new SystemControl();
        Uart8250 com1 = new Uart8250("com1", vm.irqLine(X86Layout.COM1_GSI), config.consoleOut());
        pio.register(X86Layout.COM1_PORT, Uart8250.LENGTH, com1);
        pio.register(X86Layout.I8042_DATA_PORT, I8042.LENGTH, new I8042(control));
        pio.register(X86Layout.ACPI_SLEEP_PORT, X86Layout.ACPI_SLEEP_PORT_LENGTH, new AcpiSleepControl(control));
        com1.startInput(config.consoleIn());
        return new X86Assembly(x86, config.cpus(), boot, control, com1);
    }

    /**
     * The user's command line, with {@link #DEFAULT_CONSOLE} appended when it names no console and
     * {@link #NO_PCI} when it says nothing about PCI.
     */
    static String commandLine(String user) {
        String line = user.strip();
        if (!hasParameter(line, "console=")) line = (line + " " + DEFAULT_CONSOLE).strip();
        if (!hasParameter(line, "pci=")) line = line + " " + NO_PCI;
        return line;
    }

    private static boolean hasParameter(String line, String prefix) {
        return (" " + line).contains(" " + prefix);
    }
}
