package org.jvmm.virtio;

import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.virtio.queue.DescriptorChain;
import org.jvmm.virtio.queue.QueueException;
import org.jvmm.virtio.queue.SplitQueue;

/**
 * The threads of a device that connects the guest to a host endpoint through one receive queue, filled
 * from a host source, and one transmit queue, drained into a host sink (virtio-console's byte stream,
 * virtio-net's frames). The device supplies what moves the data; this class starts, wakes and stops the
 * threads for each activation.
 *
 * <p>Transmit is a {@link QueueWorker}. Receive is a thread that first takes a receive chain from the
 * guest, waiting for the driver to post one, and only then asks the device's {@link Receiver} to fill it
 * from the host source: so while the guest posts no buffers the host source is not read, and the VMM
 * never holds more than what fits the chain in hand. A {@link QueueException} (a broken ring) or any other
 * failure in either thread makes the device need a reset; nothing escapes a thread.
 *
 * <p>Stopping sets {@link #stopping()}, runs the device's wake-up so that a receiver blocked on its host
 * source returns, kicks the receive queue for a thread waiting for a buffer, and joins both threads:
 * afterwards neither touches guest memory.
 */
public final class ReceiveTransmitQueues {

    private static final Logger LOG = Logger.getLogger(ReceiveTransmitQueues.class.getName());

    /** Fills receive chains from the host source. */
    @FunctionalInterface
    public interface Receiver {
        /**
         * Fills {@code chain}'s writable buffers with what the host source has next, waiting for it, and
         * returns how many bytes it wrote; returns -1 when nothing more will come in this activation (the
         * source ended, or {@link #stopping()} turned true while it waited). After -1 the receive thread
         * ends and the chain stays with the device until the driver resets it.
         */
        long receive(DeviceContext context, DescriptorChain chain);
    }

    /** Sends transmit chains to the host sink. */
    @FunctionalInterface
    public interface Transmitter {
        /** Sends {@code chain}'s readable bytes to the host sink; returns how many bytes it wrote into the chain. */
        long transmit(DeviceContext context, DescriptorChain chain);
    }

    private final String name;
    private final int receiveQueue, transmitQueue;
    private final Receiver receiver;
    private final Transmitter transmitter;
    private final Runnable wakeReceiver;
    private volatile boolean stopping;
    private QueueWorker transmit; // guarded by this
    private Thread receive; // guarded by this
    private ActiveQueue receiving; // guarded by this

    /**
     * @param name         the device's name, for its threads and messages
     * @param wakeReceiver makes a {@link Receiver} blocked on its host source look at {@link #stopping()}
     */
    public ReceiveTransmitQueues(String name, int receiveQueue, int transmitQueue, Receiver receiver,
                                 Transmitter transmitter, Runnable wakeReceiver) {
        this.name = name;
        this.receiveQueue = receiveQueue;
        this.transmitQueue = transmitQueue;
        this.receiver = receiver;
        this.transmitter = transmitter;
        this.wakeReceiver = wakeReceiver;
    }

    /** Whether the threads are being stopped: a {@link Receiver} waiting for its host source must then return -1. */
    public boolean stopping() {
        return stopping;
    }

    /**
     * Serves the queues of a new activation. If the driver did not set up both, the device is failed through
     * {@code context} and nothing starts (returns false); otherwise {@code beforeThreads} runs (to set the
     * host endpoint up for what the driver negotiated), then both threads start.
     */
    public synchronized boolean start(DeviceContext context, Runnable beforeThreads) {
        Optional<ActiveQueue> rx = context.queue(receiveQueue), tx = context.queue(transmitQueue);
        if (rx.isEmpty() || tx.isEmpty()) {
            context.fail("the driver did not set up both the receive and the transmit queue");
            return false;
        }
        stopping = false;
        beforeThreads.run();
        transmit = QueueWorker.start(name, context, tx.get(), chain -> transmitter.transmit(context, chain));
        receiving = rx.get();
        ActiveQueue rq = receiving;
        receive = Thread.ofPlatform().daemon().name(name + "-q" + receiveQueue).start(() -> receive(context, rq));
        return true;
    }

    /** Stops and joins both threads, if running; a no-op otherwise. */
    public synchronized void stop() {
        if (transmit != null) transmit.stop();
        transmit = null;
        if (receive != null) {
            stopping = true;
            wakeReceiver.run();
            receiving.kick().signal();
            QueueWorker.joinUninterruptibly(receive);
        }
        receive = null;
        receiving = null;
    }

    private void receive(DeviceContext context, ActiveQueue rq) {
        SplitQueue q = rq.queue();
        try {
            while (!stopping) {
                DescriptorChain chain = nextBuffer(q, rq);
                if (chain == null) return;
                long written = receiver.receive(context, chain);
                if (written < 0) return;
                q.addUsed(chain.head(), written);
                if (q.needsNotification()) context.signalUsed();
            }
        } catch (QueueException e) {
            context.fail("queue " + receiveQueue + ": " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, name + " receive failed", e);
            context.fail("queue " + receiveQueue + ": internal device error " + e);
        }
    }

    /** The next receive chain, waiting for the driver to post one; null if stopped meanwhile. */
    private DescriptorChain nextBuffer(SplitQueue q, ActiveQueue rq) throws QueueException {
        while (!stopping) {
            DescriptorChain chain = q.pop();
            if (chain != null) return chain;
            if (q.enableNotification()) continue;
            rq.kick().await();
        }
        return null;
    }
}
