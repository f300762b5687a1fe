package org.jvmm.arm64;

import static org.jvmm.arm64.Arm64Layout.*;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jvmm.arm64.devices.Pl011;
import org.jvmm.arm64.fdt.MachineDeviceTree;
import org.jvmm.arm64.hvf.Hvf;
import org.jvmm.arm64.hvf.HvfArm64Hypervisor;
import org.jvmm.arm64.kvm.KvmArm64Hypervisor;
import org.jvmm.arm64.psci.Psci;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.platform.Assembly;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.core.platform.MachineConfig;
import org.jvmm.core.platform.Platform;
import org.jvmm.core.platform.VirtioMmioSlots;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.loader.Arm64Image;
import org.jvmm.loader.KernelImage;

/**
 * jvmm's arm64 machine: QEMU-virt-compatible layout ({@link Arm64Layout}), a device tree describing it,
 * direct kernel boot per booting.rst, and PSCI in the VMM.
 *
 * <p>Backends: Hypervisor.framework ({@link HvfArm64Hypervisor}) on macOS, or wherever the system property
 * {@value Hvf#LIBRARY_PROPERTY} names a library standing in for it (the tests' simulated framework). It has run
 * only on that simulation, never on a Mac. On an arm64 Linux host, KVM ({@link KvmArm64Hypervisor}).
 */
public final class Arm64Platform implements Platform {

    /** The platform; {@link java.util.ServiceLoader} creates it, so do callers that want {@link #deviceTree}. */
    public Arm64Platform() {}

    /** The smallest guest RAM accepted: room for a small kernel, an initrd and the FDT block. */
    public static final long MIN_RAM_SIZE = 32 * MiB;

    @Override
    public String arch() {
        return "arm64";
    }

    /** Arm64Layout's virtio-mmio transports, as QEMU's virt machine places them. */
    @Override
    public VirtioMmioSlots virtioMmioSlots() {
        return new VirtioMmioSlots(Arm64Layout.VIRTIO_MMIO_BASE, Arm64Layout.VIRTIO_MMIO_SIZE,
                java.util.stream.IntStream.range(0, Arm64Layout.VIRTIO_MMIO_COUNT).map(Arm64Layout::virtioMmioSpi).boxed().toList());
    }

    @Override
    public Hypervisor openHypervisor() {
        if (HvfArm64Hypervisor.selected()) return HvfArm64Hypervisor.open();
        String host = Platforms.hostArch();
        if (!host.equals("arm64")) {
            throw new ConfigurationException("arm64 guests need an arm64 host with KVM or a Mac with Apple silicon; this host is "
                    + host + ".");
        }
        if (KvmArm64Hypervisor.selected()) return KvmArm64Hypervisor.open();
        throw new ConfigurationException("jvmm runs arm64 guests on Linux (KVM) or macOS (Hypervisor.framework); use"
                + " --dump-dtb FILE to see the machine it would build on this host.");
    }

    /**
     * Allocates RAM at {@link Arm64Layout#RAM_BASE}, shareable with vhost-user helpers ({@link SharedGuestMemory});
     * for Hypervisor.framework 16 KiB-aligned, as {@code hv_vm_map} needs.
     */
    @Override
    public GuestMemory allocateMemory(MachineConfig config) {
        long size = checkRamSize(config.memoryBytes());
        List<MemoryRange> ram = List.of(new MemoryRange(RAM_BASE, size));
        return HvfArm64Hypervisor.selected() ? HvfArm64Hypervisor.allocateMemory(ram) : SharedGuestMemory.allocate(ram);
    }

    @Override
    public Assembly assemble(Vm vm, MachineConfig config, Bus mmio, Bus pio, List<DeviceDescription> extraDevices) {
        checkCpus(config.cpus());
        long ramSize = checkRamSize(config.memoryBytes());
        GuestMemory memory = vm.memory();
        if (!memory.contains(RAM_BASE, ramSize)) {
            throw new IllegalStateException("guest memory " + memory.regions() + " does not hold RAM at 0x"
                    + Long.toHexString(RAM_BASE) + " of " + ramSize + " bytes: allocate it with allocateMemory");
        }
        Arm64Image kernel = readKernel(config.kernel());
        byte[] initrd = config.initrd().map(Arm64Platform::readInitrd).orElse(new byte[0]);
        Arm64BootPlan plan = Arm64BootPlan.plan(ramSize, kernel.textOffset(), kernel.loadSize(), initrd.length);
        byte[] dtb = deviceTree(config, plan, extraDevices);

        memory.write(plan.kernelAddress(), kernel.image());
        if (initrd.length > 0) memory.write(plan.initrdAddress(), initrd);
        memory.write(plan.fdtAddress(), dtb);

        Pl011 uart = new Pl011(MachineDeviceTree.UART_PATH.substring(1), vm.irqLine(UART_SPI), config.consoleOut());
        mmio.register(UART_BASE, UART_SIZE, uart);
        uart.startInput(config.consoleIn());

        long[] mpidrs = new long[config.cpus()];
        for (int i = 0; i < mpidrs.length; i++) mpidrs[i] = mpidr(i);
        // A secondary may start anywhere in RAM with 4-byte instruction alignment; anything else is INVALID_ADDRESS.
        Psci psci = new Psci(mpidrs, entry -> (entry & 3) == 0 && memory.contains(entry, 4));
        return new Arm64Assembly(plan, psci, config.cpus(), uart);
    }

    /**
     * The device tree blob jvmm would boot {@code config} with, given the virtio {@code devices} other modules
     * placed: what {@code jvmm --arch arm64 --dump-dtb FILE} writes. Reads the initrd's size (not the kernel)
     * to place it; the kernel must then fit below the initrd, which {@link #assemble} checks.
     *
     * @throws ConfigurationException if the CPU count, memory size or initrd cannot work
     */
    public byte[] deviceTree(MachineConfig config, List<DeviceDescription> devices) {
        checkCpus(config.cpus());
        long ramSize = checkRamSize(config.memoryBytes());
        long initrdSize = config.initrd().map(Arm64Platform::fileSize).orElse(0L);
        Arm64BootPlan plan = Arm64BootPlan.plan(ramSize, 0, 0, initrdSize);
        return deviceTree(config, plan, devices);
    }

    private static byte[] deviceTree(MachineConfig config, Arm64BootPlan plan, List<DeviceDescription> devices) {
        byte[] dtb = MachineDeviceTree.build(new MachineDeviceTree.Config(config.cpus(), config.memoryBytes(),
                commandLine(config.cmdline()), plan.initrdAddress(), plan.initrdEnd(), devices));
        if (dtb.length > FDT_MAX_SIZE) {
            throw new ConfigurationException("The device tree grew to " + dtb.length + " bytes, beyond the 2 MiB an arm64"
                    + " kernel accepts; shorten the command line or attach fewer devices.");
        }
        return dtb;
    }

    /** The console jvmm's kernels write to when the user names none: the PL011. */
    public static final String DEFAULT_CONSOLE = "console=ttyAMA0";

    /** The user's command line, with {@link #DEFAULT_CONSOLE} appended when it names no console. */
    static String commandLine(String user) {
        String trimmed = user.strip();
        if ((" " + trimmed).contains(" console=")) return trimmed;
        return trimmed.isEmpty() ? DEFAULT_CONSOLE : trimmed + " " + DEFAULT_CONSOLE;
    }

    private static void checkCpus(int cpus) {
        if (cpus > MAX_CPUS) {
            throw new ConfigurationException("arm64 guests can have at most " + MAX_CPUS + " vCPUs (the GIC redistributor"
                    + " window of the layout); ask for fewer.");
        }
    }

    private static long checkRamSize(long bytes) {
        if (bytes < MIN_RAM_SIZE || bytes > MAX_RAM_SIZE || bytes % RAM_GRANULE != 0) {
            throw new ConfigurationException("Give the arm64 guest a memory size that is a multiple of 2 MiB between "
                    + (MIN_RAM_SIZE >> 20) + " MiB and " + (MAX_RAM_SIZE >> 20) + " MiB (not " + bytes + " bytes).");
        }
        return bytes;
    }

    private static Arm64Image readKernel(Path file) {
        KernelImage image = KernelImage.read(file);
        if (!(image instanceof Arm64Image a)) {
            throw new ConfigurationException(file + " is an x86 kernel; pass an arm64 Image (or Image.gz) for --arch arm64.");
        }
        if (a.bigEndian()) {
            throw new ConfigurationException(file + " is a big-endian arm64 kernel; pass a little-endian arm64 Image.");
        }
        return a;
    }

    private static long fileSize(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new ConfigurationException("Cannot read the initrd " + file + " (" + e + "); pass a readable file.", e);
        }
    }

    private static byte[] readInitrd(Path file) {
        long size = fileSize(file);
        if (size > MAX_INITRD_SIZE) {
            throw new ConfigurationException("The initrd " + file + " is larger than " + (MAX_INITRD_SIZE >> 20)
                    + " MiB; pass a smaller one.");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes((int) size);
        } catch (IOException e) {
            throw new ConfigurationException("Cannot read the initrd " + file + " (" + e + "); pass a readable file.", e);
        }
    }

    /** The largest initrd read into the heap (a Java array holds at most 2 GiB). */
    static final long MAX_INITRD_SIZE = 1L << 30;

}
