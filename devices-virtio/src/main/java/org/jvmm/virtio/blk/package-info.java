/** virtio-blk (virtio 1.2 §5.2) on raw image files, locked against other users: exclusively when writable, shared when read-only. */
package org.jvmm.virtio.blk;
