package org.jvmm.core.sys;

import org.jvmm.core.sys.linux.EventFd;

/**
 * A counter-style wake-up channel with a file descriptor, shareable with the hypervisor and with helper
 * processes: an eventfd on Linux ({@link EventFd}: one descriptor both waited on and written), a pipe
 * ({@link PipeNotifier}: a read end to wait on, a write end to signal) on macOS and wherever the
 * hypervisor has no ioeventfd.
 */
public interface EventNotifier extends AutoCloseable {

    /** The notifier this host offers: an eventfd on Linux, a pipe on macOS. */
    static EventNotifier forHost() {
        return Posix.DARWIN ? new PipeNotifier() : new EventFd();
    }

    /** The descriptor to wait on: readable while a signal is pending (KVM's irqfd, a back-end's kick). -1 if none. */
    int fd();

    /** The descriptor that signals this notifier when written (KVM's ioeventfd, a back-end's call). */
    default int signalFd() {
        return fd();
    }

    /** Adds one to the counter and wakes a waiter. */
    void signal();

    /** Blocks until the counter is non-zero, then returns and clears it. */
    long await();

    @Override
    void close();
}
