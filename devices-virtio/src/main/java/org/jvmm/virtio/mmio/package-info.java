/** The virtio-mmio version 2 transport (virtio 1.2 §4.2): register offsets and the register file. */
package org.jvmm.virtio.mmio;
