package org.jvmm.core.irq;

/**
 * One interrupt input of the VM's interrupt controller, as a device sees it.
 *
 * <p>Level-triggered devices (the 8250 UART, virtio-mmio) {@link #set} the level and keep it until the
 * guest acknowledges; edge-triggered ones {@link #pulse}. Thread-safe.
 */
public interface IrqLine {

    /** Drives the line to {@code asserted}. */
    void set(boolean asserted);

    /** Raises and lowers the line: one edge. */
    default void pulse() {
        set(true);
        set(false);
    }
}
