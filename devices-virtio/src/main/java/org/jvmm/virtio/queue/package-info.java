/**
 * Split virtqueues (virtio 1.2 §2.7) from the device's side: the layout the driver programs, the walk of
 * descriptor chains (indirect tables included), used-ring updates with their memory ordering, and
 * notification suppression. The guest writes every byte these classes read, so every value is validated;
 * a protocol violation is a {@link org.jvmm.virtio.queue.QueueException}, never a crash or an access
 * outside guest RAM.
 */
package org.jvmm.virtio.queue;
