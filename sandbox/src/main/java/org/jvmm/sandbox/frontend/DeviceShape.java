package org.jvmm.sandbox.frontend;

/**
 * What the transport must know of a device served by a vhost-user back-end before (and independently of)
 * talking to it: vhost-user does not say which kind of device a back-end is, nor how large its queues and
 * configuration space are, so the front-end states them, as QEMU's vhost-user-blk-pci does.
 *
 * @param deviceType   the virtio device ID (§5)
 * @param name         a short name for logs
 * @param queueCount   how many queues the transport exposes (the back-end must have at least these)
 * @param maxQueueSize the largest queue size the driver may choose
 * @param configSize   the configuration space size in bytes, fetched with GET_CONFIG
 */
public record DeviceShape(int deviceType, String name, int queueCount, int maxQueueSize, int configSize) {

    public DeviceShape {
        if (queueCount < 1 || queueCount > 255) throw new IllegalArgumentException("queue count " + queueCount);
        if (maxQueueSize < 1 || maxQueueSize > 32768 || Integer.bitCount(maxQueueSize) != 1) {
            throw new IllegalArgumentException("max queue size " + maxQueueSize);
        }
        if (configSize < 0 || configSize > 256) throw new IllegalArgumentException("config size " + configSize);
    }

    /**
     * virtio-blk (§5.2): one request queue; {@code struct virtio_blk_config} up to
     * {@code write_zeroes_may_unmap} and its padding is 60 bytes.
     */
    public static DeviceShape block(String name) {
        return new DeviceShape(2, name, 1, 256, 60);
    }

    /** virtio-net (§5.1): receive and transmit queues; mac, status and max_virtqueue_pairs are 10 bytes. */
    public static DeviceShape net(String name) {
        return new DeviceShape(1, name, 2, 256, 10);
    }

    /**
     * virtio-fs (§5.11): the high-priority queue and {@code requestQueues} request queues; {@code tag[36]} and
     * {@code num_request_queues} are 40 bytes, which the front-end supplies (vhost-user file-system back-ends
     * such as virtiofsd leave the configuration space to it, as QEMU's vhost-user-fs does).
     */
    public static DeviceShape fs(String name, int requestQueues) {
        return new DeviceShape(26, name, 1 + requestQueues, 256, 40);
    }

    /** virtio-console (§5.3), one port: receive and transmit queues; cols, rows, max_nr_ports, emerg_wr are 12 bytes. */
    public static DeviceShape console(String name) {
        return new DeviceShape(3, name, 2, 256, 12);
    }
}
