package org.jvmm.virtio;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.IoEventAddress;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.core.run.MachineExtension;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.PipeNotifier;
import org.jvmm.virtio.mmio.VirtioMmioRegisters;
import org.jvmm.virtio.mmio.VirtioMmioTransport;

/**
 * Puts virtio devices on a machine's MMIO bus, each behind its own {@link VirtioMmioTransport}: device
 * {@code i} gets the slot at {@code base + i * slotSize} and interrupt {@code gsis.get(i)}, and is
 * described to the guest as kind {@code "virtio-mmio"}. Where the slots and interrupts are is the
 * architecture layout's decision, so they are parameters here.
 *
 * <p>Queue notifications: when the hypervisor has ioevents and a factory of descriptor-backed notifiers
 * was given, each queue's QueueNotify write (datamatch = queue index) signals its notifier in the kernel,
 * without a VMM exit; otherwise the write exits and the transport signals an {@link InProcessNotifier},
 * or for a device served in another process ({@link VirtioDevice#servedElsewhere()}) a {@link PipeNotifier},
 * whose read end that process waits on: pipes exist on every host, which keeps this path the same on
 * macOS, where Hypervisor.framework has no ioeventfd, and on Linux, where it runs on the simulated framework.
 */
public final class VirtioMmioDevices implements MachineExtension {

    /** The register file (0x100) plus a configuration space; every slot must hold at least this. */
    public static final long MIN_SLOT_SIZE = 0x200;

    private final long base;
    private final long slotSize;
    private final List<Integer> gsis;
    private final Optional<Supplier<EventNotifier>> kernelNotifiers;
    private final List<VirtioDevice> devices = new ArrayList<>();
    private final List<VirtioMmioTransport> transports = new ArrayList<>();

    /** Devices kicked through MMIO exits (no ioevents). */
    public VirtioMmioDevices(long base, long slotSize, List<Integer> gsis) {
        this(base, slotSize, gsis, Optional.empty());
    }

    /**
     * Devices kicked through ioevents when the hypervisor supports them, with notifiers from
     * {@code kernelNotifiers} (eventfds on Linux).
     */
    public VirtioMmioDevices(long base, long slotSize, List<Integer> gsis, Supplier<EventNotifier> kernelNotifiers) {
        this(base, slotSize, gsis, Optional.of(kernelNotifiers));
    }

    private VirtioMmioDevices(long base, long slotSize, List<Integer> gsis, Optional<Supplier<EventNotifier>> kernelNotifiers) {
        if (slotSize < MIN_SLOT_SIZE || (slotSize & (slotSize - 1)) != 0 || (base & (slotSize - 1)) != 0) {
            throw new IllegalArgumentException("virtio-mmio slots must be power-of-two sized, at least 0x200 and aligned: 0x%x+0x%x"
                    .formatted(base, slotSize));
        }
        this.base = base;
        this.slotSize = slotSize;
        this.gsis = List.copyOf(gsis);
        this.kernelNotifiers = kernelNotifiers;
    }

    /**
     * Adds {@code device} in the next free slot.
     *
     * @throws ConfigurationException if every slot is taken
     */
    public VirtioMmioDevices add(VirtioDevice device) {
        if (devices.size() >= gsis.size()) {
            throw new ConfigurationException("Too many virtio devices: this machine has room for " + gsis.size()
                    + ", so remove some --disk, --net or --console options.");
        }
        devices.add(device);
        return this;
    }

    /** The transports created by {@link #attach}, in slot order (for tests and diagnostics). */
    public List<VirtioMmioTransport> transports() {
        return List.copyOf(transports);
    }

    @Override
    public List<DeviceDescription> attach(Vm vm, Bus mmio, Consumer<AutoCloseable> closeLater) {
        boolean ioEvents = kernelNotifiers.isPresent() && vm.supportsIoEvents();
        List<DeviceDescription> described = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) {
            VirtioDevice device = devices.get(i);
            long slot = base + i * slotSize;
            int gsi = gsis.get(i);
            List<EventNotifier> kicks = new ArrayList<>();
            for (int q = 0; q < device.queueCount(); q++) {
                EventNotifier kick = ioEvents ? kernelNotifiers.get().get()
                        : device.servedElsewhere() ? new PipeNotifier() : new InProcessNotifier();
                closeLater.accept(kick);
                if (ioEvents) {
                    IoEventAddress at = IoEventAddress.mmio(slot + VirtioMmioRegisters.QUEUE_NOTIFY, 4, q);
                    vm.registerIoEvent(kick, at);
                    closeLater.accept(() -> vm.unregisterIoEvent(kick, at));
                }
                kicks.add(kick);
            }
            String name = "%s@0x%x".formatted(device.name(), slot);
            VirtioMmioTransport transport = new VirtioMmioTransport(name, device, vm.memory(), vm.irqLine(gsi), kicks);
            // Handed over after the notifiers (closing runs in reverse, so the device stops before they
            // close) and before registering, so that a failed registration still closes the device.
            closeLater.accept(transport);
            mmio.register(slot, slotSize, transport);
            transports.add(transport);
            described.add(new DeviceDescription("virtio-mmio", slot, slotSize, gsi));
        }
        return described;
    }
}
