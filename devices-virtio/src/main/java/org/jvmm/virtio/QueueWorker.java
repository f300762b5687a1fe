package org.jvmm.virtio;

import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.virtio.queue.DescriptorChain;
import org.jvmm.virtio.queue.QueueException;
import org.jvmm.virtio.queue.SplitQueue;

/**
 * The thread that serves one queue of an activated device: it waits for the driver's kick, takes every
 * available chain, hands each to the device's {@link RequestHandler}, returns it on the used ring and
 * raises the interrupt the driver asked for (§2.7.7, §2.7.10).
 *
 * <p>Notifications are suppressed while the queue is being drained and re-enabled before sleeping, with
 * a recheck, so no kick is lost and a busy queue costs no exits. A {@link QueueException} (a hostile or
 * broken ring) or any other failure ends the thread and is reported through
 * {@link DeviceContext#fail}: nothing escapes the thread and the VMM keeps running.
 */
public final class QueueWorker {

    private static final Logger LOG = Logger.getLogger(QueueWorker.class.getName());

    /** Serves one request: reads and writes the chain's buffers and returns how many bytes it wrote. */
    @FunctionalInterface
    public interface RequestHandler {
        long handle(DescriptorChain chain);
    }

    private final DeviceContext context;
    private final ActiveQueue queue;
    private final RequestHandler handler;
    private final Thread thread;
    private volatile boolean stopping;

    private QueueWorker(String name, DeviceContext context, ActiveQueue queue, RequestHandler handler) {
        this.context = context;
        this.queue = queue;
        this.handler = handler;
        this.thread = Thread.ofPlatform().daemon().name(name + "-q" + queue.index()).unstarted(this::run);
    }

    /** Starts a thread named after {@code name} that serves {@code queue} with {@code handler}. */
    public static QueueWorker start(String name, DeviceContext context, ActiveQueue queue, RequestHandler handler) {
        QueueWorker w = new QueueWorker(name, context, queue, handler);
        w.thread.start();
        return w;
    }

    /**
     * Stops the thread after the request it is serving, and waits for it: afterwards it touches guest
     * memory no more.
     */
    public void stop() {
        stopping = true;
        queue.kick().signal();
        if (Thread.currentThread() == thread) return;
        joinUninterruptibly(thread);
    }

    /**
     * Waits for {@code thread} to end even if this thread is interrupted meanwhile (a device must not be
     * re-activated while its old thread still touches guest memory), then restores the interrupt.
     */
    public static void joinUninterruptibly(Thread thread) {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private void run() {
        try {
            while (!stopping) {
                drain();
                if (stopping) break;
                queue.kick().await();
            }
        } catch (QueueException e) {
            context.fail("queue " + queue.index() + ": " + e.getMessage());
        } catch (Throwable t) {
            // A device bug must not take the VMM down: the guest sees a broken device instead.
            LOG.log(Level.SEVERE, thread.getName() + " failed", t);
            context.fail("queue " + queue.index() + ": internal device error " + t);
        }
    }

    private void drain() throws QueueException {
        SplitQueue q = queue.queue();
        do {
            q.disableNotification();
            DescriptorChain chain;
            while (!stopping && (chain = q.pop()) != null) {
                q.addUsed(chain.head(), handler.handle(chain));
            }
            if (q.needsNotification()) context.signalUsed();
            if (stopping) return;
        } while (q.enableNotification());
    }
}
