/** virtio-console (virtio 1.2 §5.3): one port, a byte stream each way, usable as {@code console=hvc0}. */
package org.jvmm.virtio.console;
