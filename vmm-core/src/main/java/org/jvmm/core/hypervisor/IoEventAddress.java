package org.jvmm.core.hypervisor;

import java.util.OptionalLong;

/**
 * A guest address whose writes signal a notifier without a VMM exit.
 *
 * @param space     port I/O or memory
 * @param address   the port number or guest-physical address
 * @param length    the access size in bytes the guest uses (1, 2, 4 or 8)
 * @param datamatch when present, only writes of exactly this value signal
 */
public record IoEventAddress(Space space, long address, int length, OptionalLong datamatch) {

    /** The address space of an {@link IoEventAddress}. */
    public enum Space { PIO, MMIO }

    public IoEventAddress {
        if (length != 1 && length != 2 && length != 4 && length != 8) {
            throw new IllegalArgumentException("ioevent length must be 1, 2, 4 or 8: " + length);
        }
    }

    /** An MMIO address matching one value, as virtio-mmio's QueueNotify uses. */
    public static IoEventAddress mmio(long address, int length, long datamatch) {
        return new IoEventAddress(Space.MMIO, address, length, OptionalLong.of(datamatch));
    }
}
