/**
 * Virtio devices served by vhost-user back-ends that jvmm did not write: virtio-fs through virtiofsd
 * ({@code --fs TAG:DIR}) and virtio-blk through an existing back-end's socket ({@code --vhost-user-blk}),
 * both driven by jvmm's own front-end, {@link org.jvmm.sandbox.frontend.VhostUserDevice}.
 */
package org.jvmm.sandbox.peer;
