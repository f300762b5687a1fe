package org.jvmm.core.console;

import java.io.IOException;
import java.io.InputStream;

/**
 * The receive side of an emulated serial port (8250, PL011): a bounded byte FIFO that a daemon thread
 * fills from a host input stream, such as the terminal.
 *
 * <p>When the FIFO is full the feeding thread waits until the guest reads, so a fast producer (a paste, a
 * pipe) is slowed down to the guest's pace and never buffered without bound.
 *
 * <p>Locking: the FIFO has no lock of its own; it uses its device's monitor ({@code lock}), because every
 * change to the FIFO also changes the device's interrupt state. Callers of every method but
 * {@link #start} and {@link #close} must hold {@code lock}; the feeding thread takes it for each byte and
 * calls {@code onReceive} with it held, so the device can update its interrupt line.
 */
public final class ReceiveFifo {

    private final Object lock;
    private final byte[] bytes;
    private final Runnable onReceive;
    private int head;
    private int count;
    private boolean closed;
    private Thread feeder;

    /**
     * @param lock      the owning device's monitor
     * @param capacity  the FIFO depth in bytes
     * @param onReceive runs (under {@code lock}) after the feeding thread added a byte
     */
    public ReceiveFifo(Object lock, int capacity, Runnable onReceive) {
        this.lock = lock;
        this.bytes = new byte[capacity];
        this.onReceive = onReceive;
    }

    /** Starts the daemon thread, called {@code threadName}, that feeds {@code in} into the FIFO. At most once. */
    public void start(String threadName, InputStream in) {
        synchronized (lock) {
            if (feeder != null) throw new IllegalStateException("input already started");
            feeder = Thread.ofPlatform().daemon().name(threadName).start(() -> feed(in));
        }
    }

    /** Bytes waiting. */
    public int size() {
        return count;
    }

    /** Whether the FIFO holds {@link #capacity()} bytes. */
    public boolean isFull() {
        return count == bytes.length;
    }

    /** The FIFO depth. */
    public int capacity() {
        return bytes.length;
    }

    /** Takes the oldest byte, or returns -1 if there is none; makes room for the feeding thread. */
    public int poll() {
        if (count == 0) return -1;
        int v = bytes[head] & 0xff;
        head = (head + 1) % bytes.length;
        count--;
        lock.notifyAll();
        return v;
    }

    /** Adds a byte from the device itself (loopback); a full FIFO drops it, as an overrun does on the chip. */
    public boolean offer(byte b) {
        if (count == bytes.length) return false;
        bytes[(head + count) % bytes.length] = b;
        count++;
        return true;
    }

    /** Empties the FIFO (the guest reset it). */
    public void clear() {
        head = 0;
        count = 0;
        lock.notifyAll();
    }

    /** Stops feeding (the thread may stay blocked in a read of the stream; it is a daemon). */
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
            if (feeder != null) feeder.interrupt();
        }
    }

    private void feed(InputStream in) {
        byte[] chunk = new byte[16];
        try {
            while (true) {
                int n = in.read(chunk);
                if (n < 0) return;
                for (int i = 0; i < n; i++) {
                    synchronized (lock) {
                        while (isFull() && !closed) lock.wait();
                        if (closed) return;
                        offer(chunk[i]);
                        onReceive.run();
                    }
                }
            }
        } catch (IOException | InterruptedException e) {
            // End of input: the guest simply receives nothing more.
        }
    }
}
