package org.jvmm.sandbox.vhost;

import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.EventFd;

/**
 * An eventfd received from the front-end, waited on with poll before it is read: front-ends may hand
 * over non-blocking eventfds (QEMU does), and their flags belong to an open file description we share
 * with the front-end, so we must not change them.
 */
final class PolledEventFd implements EventNotifier {

    private final EventFd eventFd;

    /** Takes ownership of {@code fd}. */
    PolledEventFd(int fd) {
        this.eventFd = new EventFd(fd);
    }

    @Override
    public int fd() {
        return eventFd.fd();
    }

    @Override
    public void signal() {
        eventFd.signal();
    }

    @Override
    public long await() {
        while (true) {
            try {
                long v = eventFd.await(-1);
                if (v != 0) return v;
            } catch (SysException e) {
                // Another reader won the race (EAGAIN) or a signal interrupted the wait: wait again.
                if (e.errno() != Errno.EAGAIN && e.errno() != Errno.EINTR) throw e;
            }
        }
    }

    @Override
    public void close() {
        eventFd.close();
    }
}
