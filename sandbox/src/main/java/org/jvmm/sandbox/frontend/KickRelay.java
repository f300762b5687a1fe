package org.jvmm.sandbox.frontend;

import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.virtio.QueueWorker;

/**
 * Passes a queue's kicks from a notifier without a descriptor (the transport signals it on a QueueNotify
 * exit, where the hypervisor has no ioeventfd) on to an eventfd a back-end can wait on. Only that case
 * needs it: on KVM the ioeventfd itself goes to the back-end.
 */
final class KickRelay implements AutoCloseable {

    private final EventNotifier source;
    private final EventFd target = new EventFd();
    private final Thread thread;
    private volatile boolean stopping;

    KickRelay(String name, EventNotifier source) {
        this.source = source;
        this.thread = Thread.ofPlatform().daemon().name(name + "-kick-relay").start(this::run);
    }

    /** The eventfd the back-end waits on. */
    int fd() {
        return target.fd();
    }

    private void run() {
        while (true) {
            source.await();
            if (stopping) return;
            target.signal();
        }
    }

    @Override
    public void close() {
        stopping = true;
        source.signal();
        QueueWorker.joinUninterruptibly(thread);
        target.close();
    }
}
