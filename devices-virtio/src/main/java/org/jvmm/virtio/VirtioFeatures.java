package org.jvmm.virtio;

/**
 * Device-independent feature bits (virtio 1.2 §6, "Reserved Feature Bits"), as bit numbers, and the
 * helper to test them. Device-specific bits live with their devices.
 */
public final class VirtioFeatures {

    /** §6: the driver may use indirect descriptor tables. */
    public static final int RING_INDIRECT_DESC = 28;
    /** §6: used_event / avail_event notification suppression. */
    public static final int RING_EVENT_IDX = 29;
    /** §6: a virtio 1.x (non-legacy) device; jvmm requires it, there is no legacy interface. */
    public static final int VERSION_1 = 32;

    /** The bit mask of feature {@code bit}. */
    public static long bit(int bit) {
        return 1L << bit;
    }

    /** Whether {@code features} has feature {@code bit}. */
    public static boolean has(long features, int bit) {
        return (features & bit(bit)) != 0;
    }

    private VirtioFeatures() {}
}
