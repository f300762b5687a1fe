package org.jvmm.virtio;

import org.jvmm.core.sys.EventNotifier;

/**
 * An {@link EventNotifier} that lives only inside this JVM (it has no descriptor): for in-process devices
 * whose queue kicks arrive as MMIO exits, where the transport itself signals the device thread, and for
 * tests. Where the hypervisor delivers kicks by ioeventfd, an fd-backed notifier is needed instead.
 */
public final class InProcessNotifier implements EventNotifier {

    private long count;

    /** Always -1: nothing outside the JVM can wait on this notifier. */
    @Override
    public int fd() {
        return -1;
    }

    @Override
    public synchronized void signal() {
        count++;
        notifyAll();
    }

    /** Blocks until signalled; an interrupt does not end the wait (it is re-asserted on return). */
    @Override
    public synchronized long await() {
        boolean interrupted = false;
        while (count == 0) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        long n = count;
        count = 0;
        return n;
    }

    @Override
    public void close() {
        // Nothing to release.
    }
}
