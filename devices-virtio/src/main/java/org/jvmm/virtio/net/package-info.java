/**
 * virtio-net (virtio 1.2 §5.1): the device, the guest's {@code virtio_net_hdr} parser, and the host
 * backends that carry its frames (a TAP device, a passt stream socket, a gvproxy/vfkit-style datagram socket).
 */
package org.jvmm.virtio.net;
