package org.jvmm.virtio;

/**
 * A virtio device model, independent of the transport that exposes it (virtio-mmio here, vhost-user
 * later). The transport owns feature negotiation, the status state machine and the queue registers; the
 * device owns its configuration space and serves its queues.
 *
 * <p>Threading: the transport calls these methods from vCPU threads, one at a time.
 * {@link #activate} hands the device its queues; the device serves them on its own thread(s), never on
 * the vCPU (a slow disk must not stall the guest's CPUs). {@link #reset} must not return before those
 * threads have stopped touching guest memory, because the driver may reuse the rings at once.
 */
public interface VirtioDevice extends AutoCloseable {

    /** The virtio device ID (§5: 1 network, 2 block, 3 console). */
    int deviceType();

    /** A short name for logs and threads: {@code "virtio-blk(disk.img)"}. */
    String name();

    /** How many virtqueues the device has. */
    int queueCount();

    /** The largest queue size the device accepts (a power of two, at most 32768). */
    int maxQueueSize();

    /**
     * The features offered to the driver, device-specific and reserved bits together; must include
     * {@link VirtioFeatures#VERSION_1}.
     */
    long features();

    /** The size of the device-specific configuration space in bytes. */
    int configSize();

    /**
     * Reads {@code size} bytes of configuration space at {@code offset} as a little-endian value; the
     * transport has checked that the access lies inside {@link #configSize()}.
     */
    long readConfig(int offset, int size);

    /** {@code size} bytes of {@code config} at {@code offset} as a little-endian value: {@link #readConfig} for byte-array spaces. */
    static long readLittleEndian(byte[] config, int offset, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) v |= (config[offset + i] & 0xffL) << (8 * i);
        return v;
    }

    /** Takes a driver write to configuration space (most devices ignore them); bounds already checked. */
    void writeConfig(int offset, int size, long value);

    /**
     * Whether the device's queues are served in another process (a vhost-user back-end): its kicks must then
     * arrive on a descriptor that process can wait on, even where the hypervisor has no ioeventfd and the
     * transport signals the kick itself on a QueueNotify exit.
     */
    default boolean servedElsewhere() {
        return false;
    }

    /** Starts serving: the driver set DRIVER_OK. */
    void activate(DeviceContext context);

    /** Stops serving and forgets all driver state; returns once no device thread touches guest memory. */
    void reset();

    /** Releases host resources (files, descriptors); the device is reset first. */
    @Override
    default void close() {
        reset();
    }
}
