package org.jvmm.virtio.console;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Reads the console's input on its own daemon thread and hands it over one chunk at a time: the
 * thread does not read again until the previous chunk was taken, so input waits in the host (in the
 * terminal or pipe) rather than piling up in the VMM while the guest posts no receive buffers.
 *
 * <p>The thread lives as long as the device (a read from a terminal cannot be cancelled), so input
 * typed while the driver resets is kept, not lost.
 */
final class InputPump {

    private static final Logger LOG = Logger.getLogger(InputPump.class.getName());
    private static final int CHUNK = 4096;

    private final InputStream in;
    private final String name;
    private byte[] pending; // guarded by this
    private boolean ended; // guarded by this
    private Thread thread;

    InputPump(InputStream in, String name) {
        this.in = in;
        this.name = name;
    }

    /** Starts reading, once. */
    synchronized void start() {
        if (thread != null) return;
        thread = Thread.ofPlatform().daemon().name(name + "-input").start(this::run);
    }

    private void run() {
        byte[] buf = new byte[CHUNK];
        try {
            while (true) {
                int n = in.read(buf);
                if (n < 0) break;
                if (n == 0) continue;
                put(Arrays.copyOf(buf, n));
            }
        } catch (IOException e) {
            LOG.log(Level.FINE, name + ": console input ended", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            ended = true;
            notifyAll();
        }
    }

    private synchronized void put(byte[] chunk) throws InterruptedException {
        while (pending != null) wait();
        pending = chunk;
        notifyAll();
    }

    /**
     * Takes the next chunk, waiting for one; returns null once input has ended, or when {@code stopping}
     * turns true (checked after {@link #wakeUp()}) or the calling thread is interrupted: a chunk then
     * stays for the next taker, so input typed while the driver resets is kept.
     */
    synchronized byte[] take(BooleanSupplier stopping) {
        try {
            while (pending == null && !ended && !stopping.getAsBoolean()) wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
        if (stopping.getAsBoolean()) return null;
        byte[] chunk = pending;
        pending = null;
        notifyAll();
        return chunk;
    }

    /** Makes a waiting {@link #take} look at its stop condition again. */
    synchronized void wakeUp() {
        notifyAll();
    }

    /** Puts back the part of a chunk the guest had no room for, ahead of anything newer. */
    synchronized void unread(byte[] rest) {
        if (pending == null) {
            pending = rest;
        } else {
            byte[] joined = Arrays.copyOf(rest, rest.length + pending.length);
            System.arraycopy(pending, 0, joined, rest.length, pending.length);
            pending = joined;
        }
        notifyAll();
    }
}
