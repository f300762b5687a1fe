package org.jvmm.sandbox.frontend;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/**
 * What stands behind a vhost-user connection, as far as the front-end cares: something that can say what
 * became of it when the connection is lost (a helper process's exit status or killing signal) and that is
 * released with the device.
 */
public interface BackendPeer extends AutoCloseable {

    /** A peer with nothing to add and nothing to release (a back-end someone else runs). */
    BackendPeer NONE = new BackendPeer() {
        @Override public String fate() { return ""; }
        @Override public void close() {}
    };

    /** What became of the peer ("the blk helper (pid 42) was killed by signal 9"), or "" if nothing is known. */
    String fate();

    /**
     * What became of {@code process}, named {@code name}: "" while it runs (after a short wait: its socket usually
     * closes a moment before its exit is seen), else "NAME (pid P) exited with status S" or "... was killed by signal
     * N"; {@code special} may describe an exit status of its own (null otherwise).
     */
    static String fateOf(Process process, String name, IntFunction<String> special) {
        try {
            process.onExit().get(2, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
        int status = process.exitValue();
        String who = name + " (pid " + process.pid() + ") ";
        String own = special.apply(status);
        if (own != null) return who + own;
        // Java reports death by signal N as 128 + N, as shells do.
        return status > 128 && status < 128 + 65 ? who + "was killed by signal " + (status - 128)
                : who + "exited with status " + status;
    }

    /** Releases the peer once its connection is closed (a helper process is reaped, or killed if it lingers). */
    @Override
    void close();
}
