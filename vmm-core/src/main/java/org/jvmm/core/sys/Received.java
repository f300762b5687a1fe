package org.jvmm.core.sys;

/**
 * A message received on a Unix socket with the descriptors it carried (SCM_RIGHTS): its bytes (empty at
 * end of stream) and the descriptors, now owned by the receiver.
 */
public record Received(byte[] data, int[] fds) {}
