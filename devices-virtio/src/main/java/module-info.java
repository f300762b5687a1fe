/**
 * jvmm's virtio devices: the virtio-mmio version 2 transport, split virtqueues with strict validation of
 * everything the guest controls, and the device models (virtio-blk, virtio-net and virtio-console), served in-process.
 */
module org.jvmm.virtio {
    requires transitive org.jvmm.core;

    exports org.jvmm.virtio;
    exports org.jvmm.virtio.blk;
    exports org.jvmm.virtio.console;
    exports org.jvmm.virtio.mmio;
    exports org.jvmm.virtio.net;
    exports org.jvmm.virtio.queue;
}
