package org.jvmm.core.platform;

import java.util.List;

/**
 * Where an architecture's layout puts virtio-mmio transports: slot {@code i} is the window
 * {@code [base + i * slotSize, base + (i + 1) * slotSize)} and raises interrupt {@code irqs.get(i)}
 * (as {@link org.jvmm.core.hypervisor.Vm#irqLine} numbers it), so there are {@code irqs.size()} slots.
 *
 * @param base     the guest-physical address of slot 0
 * @param slotSize the size of each window in bytes
 * @param irqs     each slot's interrupt line, in slot order
 */
public record VirtioMmioSlots(long base, long slotSize, List<Integer> irqs) {

    public VirtioMmioSlots {
        irqs = List.copyOf(irqs);
    }

    /** No slots: a platform without virtio-mmio transports. */
    public static final VirtioMmioSlots NONE = new VirtioMmioSlots(0, 0, List.of());
}
