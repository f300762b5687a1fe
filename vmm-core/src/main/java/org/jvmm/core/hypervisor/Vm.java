package org.jvmm.core.hypervisor;

import org.jvmm.core.irq.IrqLine;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.sys.EventNotifier;

/**
 * A virtual machine: a guest-physical address space plus interrupt routing, with vCPUs created from it.
 *
 * <p>Guest RAM is mapped when the VM is created; anything the guest touches outside RAM exits as MMIO.
 * Methods may be called from any thread unless noted.
 */
public interface Vm extends AutoCloseable {

    /** The guest memory this VM maps. */
    GuestMemory memory();

    /**
     * Creates vCPU {@code id} (0 is the boot CPU). The returned vCPU must then be run only on the thread
     * that created it: Hypervisor.framework binds a vCPU to its creating thread, and the run loop keeps
     * that rule on every backend.
     */
    Vcpu createVcpu(int id);

    /** The interrupt line {@code gsi} of the VM's interrupt controller (an IOAPIC pin, a GIC SPI ...). */
    IrqLine irqLine(int gsi);

    /**
     * Whether this hypervisor can signal a guest write to an address through a notifier without a
     * user-space exit (KVM's ioeventfd). Without it, the write arrives as an ordinary exit and the
     * device model signals the notifier itself.
     */
    boolean supportsIoEvents();

    /**
     * Signals {@code notifier} whenever the guest writes to {@code address} (and, if it has one,
     * matches its datamatch) — no exit reaches the VMM.
     *
     * @throws UnsupportedOperationException if {@link #supportsIoEvents()} is false
     */
    void registerIoEvent(EventNotifier notifier, IoEventAddress address);

    /** Stops signalling {@code notifier} for {@code address}. */
    void unregisterIoEvent(EventNotifier notifier, IoEventAddress address);

    /**
     * Raises interrupt {@code gsi} (edge) each time {@code notifier} is signalled, without the VMM
     * (KVM's irqfd). Backends without such a path raise the line from a VMM thread.
     */
    void registerIrqNotifier(EventNotifier notifier, int gsi);

    /** Destroys the VM; its vCPUs must already be closed. */
    @Override
    void close();
}
