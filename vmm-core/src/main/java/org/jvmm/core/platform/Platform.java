package org.jvmm.core.platform;

import java.util.List;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.memory.GuestMemory;

/**
 * One guest architecture on this host: what {@code vmm-core} asks of {@code arch-x86} and {@code arch-arm64}.
 *
 * <p>Found with {@link java.util.ServiceLoader} and chosen by {@link #arch()}. A platform owns the memory
 * layout, the platform devices (UART, interrupt controllers, reset), the boot structures and the choice of
 * hypervisor backend for its architecture; the core owns the run loop and knows none of those.
 */
public interface Platform {

    /** The architecture name the command line uses: {@code "x86_64"} or {@code "arm64"}. */
    String arch();

    /**
     * Opens the hypervisor backend that runs this architecture on this host.
     *
     * @throws org.jvmm.core.ConfigurationException with one sentence saying what to do if none can
     *         (no {@code /dev/kvm}, wrong host architecture, missing entitlement)
     */
    Hypervisor openHypervisor();

    /**
     * Allocates guest RAM of {@code config.memoryBytes()} laid out as this architecture needs it
     * (for example around x86's 32-bit MMIO hole), shareable with helper processes.
     *
     * @throws org.jvmm.core.ConfigurationException if the size cannot work for this architecture
     */
    GuestMemory allocateMemory(MachineConfig config);

    /**
     * Builds the machine inside {@code vm}: attaches platform devices to the buses, loads the kernel and
     * initrd, writes the boot structures.
     *
     * @param extraDevices devices other modules (virtio) placed, which the platform describes to the
     *                     guest (ACPI DSDT or FDT nodes)
     * @throws org.jvmm.core.ConfigurationException for a kernel that is not a kernel or does not fit
     */
    Assembly assemble(Vm vm, MachineConfig config, Bus mmio, Bus pio, List<DeviceDescription> extraDevices);

    /**
     * Where this architecture puts virtio-mmio transports, so that device modules can place them without
     * knowing the layout; {@link VirtioMmioSlots#NONE} for a platform that has none.
     */
    default VirtioMmioSlots virtioMmioSlots() {
        return VirtioMmioSlots.NONE;
    }
}
