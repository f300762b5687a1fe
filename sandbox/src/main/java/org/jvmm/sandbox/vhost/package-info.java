/**
 * vhost-user, the protocol between a VMM (the front-end) and an out-of-process device (the back-end), as
 * QEMU's docs/interop/vhost-user.rst specifies it: {@link org.jvmm.sandbox.vhost.VhostUserCodec} reads
 * and validates front-end messages into {@link org.jvmm.sandbox.vhost.VhostUserMessage}s with sealed
 * {@link org.jvmm.sandbox.vhost.VhostUserPayload}s, and {@link org.jvmm.sandbox.vhost.VhostUserBackend}
 * serves one of jvmm's virtio devices over a connection, in guest memory shared through memfd
 * descriptors, woken by kick eventfds and answering on call eventfds.
 *
 * <p>So far only the back-end exists; jvmm's front-end (driving helpers and other back-ends such as
 * qemu-storage-daemon) is still to come.
 */
package org.jvmm.sandbox.vhost;
