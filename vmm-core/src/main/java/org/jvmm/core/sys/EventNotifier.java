package org.jvmm.core.sys;

/**
 * A counter-style wake-up channel with a file descriptor, shareable with the hypervisor and with helper
 * processes: an eventfd on Linux, a pipe on macOS.
 */
public interface EventNotifier extends AutoCloseable {

    /** The descriptor the hypervisor or another process waits on or writes to. */
    int fd();

    /** Adds one to the counter and wakes a waiter. */
    void signal();

    /** Blocks until the counter is non-zero, then returns and clears it. */
    long await();

    @Override
    void close();
}
