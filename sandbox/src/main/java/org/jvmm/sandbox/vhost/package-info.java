/**
 * vhost-user, the protocol between a VMM (the front-end) and an out-of-process device (the back-end), as
 * QEMU's docs/interop/vhost-user.rst specifies it: {@link org.jvmm.sandbox.vhost.VhostUserCodec} reads
 * and validates front-end messages into {@link org.jvmm.sandbox.vhost.VhostUserMessage}s with sealed
 * {@link org.jvmm.sandbox.vhost.VhostUserPayload}s, and {@link org.jvmm.sandbox.vhost.VhostUserBackend}
 * serves one of jvmm's virtio devices over a connection, in guest memory shared through memfd
 * descriptors, woken by kick eventfds and answering on call eventfds.
 *
 * <p>jvmm's front-end, which drives its helpers (and any other vhost-user back-end) from behind the
 * virtio-mmio transport, is in {@link org.jvmm.sandbox.frontend}.
 */
package org.jvmm.sandbox.vhost;
