/** The virtio-mmio transport, split virtqueues and the virtio-blk, virtio-net and virtio-console devices. */
module org.jvmm.virtio {
    requires transitive org.jvmm.core;
}
