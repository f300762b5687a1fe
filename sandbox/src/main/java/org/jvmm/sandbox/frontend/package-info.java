/**
 * jvmm's vhost-user front-end: {@link org.jvmm.sandbox.frontend.VhostUserDevice} is a virtio device whose
 * queues a back-end in another process serves (one of jvmm's helpers, or any vhost-user back-end), placed
 * behind the ordinary virtio-mmio transport so that every register stays in jvmm while kicks (ioeventfds)
 * and guest memory (memfds) go to the back-end as descriptors. Replies are validated by
 * {@link org.jvmm.sandbox.frontend.VhostUserReplies} and bounded in time by
 * {@link org.jvmm.sandbox.frontend.VhostUserConnection}; a back-end that misbehaves or dies costs its
 * device a NEEDS_RESET, never the VMM.
 */
package org.jvmm.sandbox.frontend;
