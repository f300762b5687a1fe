package org.jvmm.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.jvmm.core.sys.Posix;

/**
 * jvmm's end of a console helper's terminal: a stream socket pair whose other end goes to the helper,
 * with one thread copying jvmm's console input into it and one copying the helper's output to jvmm's
 * console output. The keyboard stays jvmm's (its Ctrl-A escape is handled before any byte reaches the
 * guest), and the helper holds only the socket.
 */
final class ConsoleRelay implements AutoCloseable {

    private final int mine;
    private final int theirs;
    private final java.util.concurrent.atomic.AtomicBoolean handed = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    ConsoleRelay(String name, InputStream in, OutputStream out) {
        int[] pair = Posix.unixSocketPair();
        this.mine = pair[0];
        this.theirs = pair[1];
        Thread.ofPlatform().daemon().name(name + "-in").start(() -> copy(in, DescriptorStreams.output(mine)));
        Thread.ofPlatform().daemon().name(name + "-out").start(() -> copy(DescriptorStreams.input(mine), out));
    }

    /** The descriptor to hand to the helper; closed here once handed over. */
    int helperEnd() {
        return theirs;
    }

    /** Drops jvmm's copy of the helper's end after the helper has received its own. */
    void handedOver() {
        if (handed.compareAndSet(false, true)) Posix.close(theirs);
    }

    private static void copy(InputStream from, OutputStream to) {
        byte[] buffer = new byte[4096];
        try {
            for (int n; (n = from.read(buffer)) > 0; ) {
                to.write(buffer, 0, n);
                to.flush();
            }
        } catch (IOException e) {
            // Either side ended: the console is gone, which the device's own fault handling reports.
        }
    }

    /** Ends the relay (idempotent): the helper sees end of input; the copying threads end with the socket. */
    @Override
    public void close() {
        handedOver();
        if (closed.compareAndSet(false, true)) Posix.close(mine);
    }
}
