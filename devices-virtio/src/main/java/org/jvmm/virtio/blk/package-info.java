/** virtio-blk (virtio 1.2 §5.2) on raw image files, with an exclusive lock for writable images. */
package org.jvmm.virtio.blk;
