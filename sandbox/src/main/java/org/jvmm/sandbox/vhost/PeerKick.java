package org.jvmm.sandbox.vhost;

import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.PipeNotifier;
import org.jvmm.core.sys.Posix;

/**
 * A queue's kick descriptor received from the front-end, as the device's queue worker waits on it: an
 * eventfd (QEMU, and jvmm on KVM, where it is the queue's ioeventfd) or the read end of a pipe (jvmm where
 * the hypervisor has no ioeventfd, and on macOS). One way of waiting serves both: poll, then take what is
 * pending with reads of up to 512 bytes (an eventfd gives its 8-byte counter, a pipe the 8-byte signals
 * written so far).
 *
 * <p>{@link #signal()} wakes the worker from inside this process (to stop it) through a pipe of its own:
 * the front-end's descriptor may be a pipe's read end, which cannot be written. A pipe whose writer is gone
 * (the front-end ended) is no longer waited on, so a worker never spins on its end of file.
 */
final class PeerKick implements EventNotifier {

    private final int fd;
    private final PipeNotifier local;
    private volatile boolean peerGone;
    private volatile boolean closed;

    /** Takes ownership of {@code fd} (closed here if the local pipe cannot be made). */
    PeerKick(int fd) {
        this.fd = fd;
        try {
            this.local = new PipeNotifier();
        } catch (RuntimeException e) {
            Posix.close(fd);
            throw e;
        }
    }

    @Override
    public int fd() {
        if (closed) throw new IllegalStateException("kick descriptor " + fd + " is closed");
        return fd;
    }

    /** Wakes {@link #await} from this process. */
    @Override
    public void signal() {
        local.signal();
    }

    @Override
    public long await() {
        int[] fds = {local.fd(), 0};
        while (true) {
            fds[1] = peerGone ? -1 : fd(); // poll skips negative descriptors
            int[] ready = Posix.poll(fds, Posix.POLLIN, -1);
            long n = 0;
            if (ready[0] != 0) n += PipeNotifier.drain(local.fd());
            if (ready[1] != 0) {
                long got = PipeNotifier.drain(fd);
                // Readable with nothing to read and hung up: the writer is gone for good.
                if (got == 0 && (ready[1] & (Posix.POLLHUP | Posix.POLLERR)) != 0) peerGone = true;
                n += got;
            }
            if (n != 0) return n;
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Posix.close(fd);
        local.close();
    }
}
