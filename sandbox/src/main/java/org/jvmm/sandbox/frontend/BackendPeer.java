package org.jvmm.sandbox.frontend;

/**
 * What stands behind a vhost-user connection, as far as the front-end cares: something that can say what
 * became of it when the connection is lost (a helper process's exit status or killing signal) and that is
 * released with the device.
 */
public interface BackendPeer extends AutoCloseable {

    /** A peer with nothing to add and nothing to release (a back-end someone else runs). */
    BackendPeer NONE = new BackendPeer() {
        @Override public String fate() { return ""; }
        @Override public void close() {}
    };

    /** What became of the peer ("the blk helper (pid 42) was killed by signal 9"), or "" if nothing is known. */
    String fate();

    /** Releases the peer once its connection is closed (a helper process is reaped, or killed if it lingers). */
    @Override
    void close();
}
