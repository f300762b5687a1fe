package org.jvmm.virtio;

import java.util.List;
import java.util.Optional;
import org.jvmm.core.memory.GuestMemory;

/**
 * What an activated device gets from its transport: guest memory, the negotiated features, the ready
 * queues, and the two ways to talk back (a used-buffer interrupt, and declaring itself broken).
 *
 * <p>Valid from {@link VirtioDevice#activate} until the matching {@link VirtioDevice#reset}; calls after
 * that are ignored, so a late device thread cannot disturb the next driver. Thread-safe.
 */
public interface DeviceContext {

    /** Guest RAM. */
    GuestMemory memory();

    /** The features the driver accepted (a subset of the device's offer, with VERSION_1). */
    long features();

    /** The queues the driver made ready, in index order. */
    List<ActiveQueue> queues();

    /** The ready queue {@code index}, if the driver set it up. */
    default Optional<ActiveQueue> queue(int index) {
        return queues().stream().filter(q -> q.index() == index).findFirst();
    }

    /** Raises the used-buffer interrupt (the transport sets the interrupt status and the line). */
    void signalUsed();

    /**
     * The device cannot go on (the driver broke the protocol, or the device failed): the transport sets
     * DEVICE_NEEDS_RESET, raises a configuration-change interrupt, and logs {@code reason}. The device
     * must stop using its queues until it is reset.
     */
    void fail(String reason);
}
