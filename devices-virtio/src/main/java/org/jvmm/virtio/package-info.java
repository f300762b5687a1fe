/**
 * jvmm's virtio device framework, transport-independent: the {@link org.jvmm.virtio.VirtioDevice} contract a
 * device model implements, the {@link org.jvmm.virtio.DeviceContext} it gets on activation, the
 * {@link org.jvmm.virtio.QueueWorker} thread that serves a queue off the vCPU threads, and
 * {@link org.jvmm.virtio.VirtioMmioDevices}, which puts devices on a machine's MMIO bus.
 *
 * <p>Sub-packages: {@code queue} (split virtqueues, with every guest-controlled field validated),
 * {@code mmio} (the virtio-mmio version 2 register file and status state machine), {@code blk}
 * (virtio-blk on a raw image).
 */
package org.jvmm.virtio;
