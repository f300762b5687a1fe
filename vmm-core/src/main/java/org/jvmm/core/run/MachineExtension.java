package org.jvmm.core.run;

import java.util.List;
import java.util.function.Consumer;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.platform.DeviceDescription;

/**
 * Devices added to a machine from outside its platform (the virtio devices, research devices).
 *
 * <p>Called once while the machine is built, before the platform writes its device descriptions.
 */
@FunctionalInterface
public interface MachineExtension {

    /**
     * Attaches devices to {@code mmio} (registering ioevents and irq notifiers with {@code vm}) and
     * returns what the platform must describe to the guest; resources handed to {@code closeLater} are
     * closed with the machine.
     */
    List<DeviceDescription> attach(Vm vm, Bus mmio, Consumer<AutoCloseable> closeLater);
}
