package org.jvmm.sandbox.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.sys.PipeNotifier;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.junit.jupiter.api.Test;

/** The back-end's side of a kick descriptor: an eventfd or a pipe's read end, as front-ends hand them over. */
class PeerKickTest {

    @Test
    void aPipesReadEndCarriesKicksAndTheWorkerCanStillBeWokenFromInside() throws Exception {
        int[] pipe = Posix.pipe();
        try (PeerKick kick = new PeerKick(pipe[0])) {
            CompletableFuture<Long> first = CompletableFuture.supplyAsync(kick::await);
            PipeNotifier.signal(pipe[1]);  // what jvmm's transport does on a QueueNotify exit
            assertEquals(8, first.get(10, TimeUnit.SECONDS));
            // Stopping a worker signals its kick; a pipe's read end cannot be written, so this must not fail.
            CompletableFuture<Long> second = CompletableFuture.supplyAsync(kick::await);
            kick.signal();
            assertTrue(second.get(10, TimeUnit.SECONDS) > 0);
        } finally {
            Posix.close(pipe[1]);
        }
    }

    @Test
    void aFrontEndThatClosesItsEndLeavesAWorkerThatOnlyWaitsForItsStop() throws Exception {
        int[] pipe = Posix.pipe();
        try (PeerKick kick = new PeerKick(pipe[0])) {
            Posix.close(pipe[1]);  // the front-end is gone: its end of the pipe reads as end of file for ever
            CompletableFuture<Long> waiting = CompletableFuture.supplyAsync(kick::await);
            Thread.sleep(200);
            assertTrue(!waiting.isDone(), "end of file is not a kick");
            kick.signal();
            assertTrue(waiting.get(10, TimeUnit.SECONDS) > 0);
        }
    }

    @Test
    void anEventfdsCounterIsOneKick() throws Exception {
        int efd = LinuxLibc.eventfd(0, LinuxLibc.EFD_CLOEXEC | LinuxLibc.EFD_NONBLOCK);
        try (PeerKick kick = new PeerKick(efd)) {
            PipeNotifier.signal(efd);
            PipeNotifier.signal(efd);
            assertEquals(8, kick.await());
        }
    }
}
