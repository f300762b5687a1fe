package org.jvmm.sandbox.vhost;

import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.PipeNotifier;
import org.jvmm.core.sys.Posix;

/**
 * A call or error descriptor received from the front-end, which this back-end only signals: an eventfd (QEMU,
 * and jvmm on Linux) or the write end of a pipe (jvmm on macOS). Writing an 8-byte 1 signals either. The
 * descriptor's flags belong to an open file description shared with the front-end, so they are used as they
 * come and never changed.
 */
final class PeerCall implements EventNotifier {

    private final int fd;
    private volatile boolean closed;

    /** Takes ownership of {@code fd}. */
    PeerCall(int fd) {
        this.fd = fd;
    }

    @Override
    public int fd() {
        if (closed) throw new IllegalStateException("call descriptor " + fd + " is closed");
        return fd;
    }

    @Override
    public void signal() {
        PipeNotifier.signal(fd());
    }

    /** Never waited on: the front-end waits on its own end. */
    @Override
    public long await() {
        throw new UnsupportedOperationException("a call descriptor is signalled, not waited on");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Posix.close(fd);
    }
}
