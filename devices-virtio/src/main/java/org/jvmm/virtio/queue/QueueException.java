package org.jvmm.virtio.queue;

/**
 * The driver broke the virtqueue protocol: a descriptor outside guest RAM, a loop, an over-long chain,
 * an impossible ring index. The device cannot trust the queue any more; the transport answers by
 * setting DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2) with this exception's message as the logged reason.
 *
 * <p>Checked on purpose: every caller that walks a guest ring has to decide what a broken ring means.
 */
public final class QueueException extends Exception {

    private static final long serialVersionUID = 1L;

    /** A protocol violation described by {@code reason} (one clause, no trailing period). */
    public QueueException(String reason) {
        super(reason);
    }
}
