package org.jvmm.core.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.junit.jupiter.api.Test;

class PipeNotifierTest {

    @Test
    void aSignalFromThePeersEndWakesTheWaiterWithTheEightBytesAnEventfdTakes() throws Exception {
        try (PipeNotifier n = new PipeNotifier()) {
            assertTrue(n.fd() != n.signalFd(), "a pipe has a read end to wait on and a write end to signal");
            CompletableFuture<Long> woken = CompletableFuture.supplyAsync(n::await);
            // What a vhost-user back-end does with its call descriptor: eventfd_write(fd, 1).
            PipeNotifier.signal(n.signalFd());
            assertEquals(8, woken.get(10, TimeUnit.SECONDS));
            assertEquals(0, PipeNotifier.drain(n.fd()), "one signal, taken once");
        }
    }

    @Test
    void signalsNeverBlockTheSenderAndOneWakeUpTakesThemAll() {
        try (PipeNotifier n = new PipeNotifier()) {
            // Far more than a pipe holds (64 KiB = 8192 signals): the extra ones fold into the pending wake-up.
            for (int i = 0; i < 20_000; i++) n.signal();
            assertTrue(n.await() >= 8192 * 8, "a full pipe's worth taken in one wake-up");
            assertEquals(0, PipeNotifier.drain(n.fd()), "nothing left behind for a spurious wake-up");
        }
    }

    @Test
    void theSameCallsServeAnEventfd() {
        try (EventFd e = new EventFd(LinuxLibc.eventfd(0, LinuxLibc.EFD_CLOEXEC | LinuxLibc.EFD_NONBLOCK))) {
            PipeNotifier.signal(e.fd());
            PipeNotifier.signal(e.fd());
            assertEquals(8, PipeNotifier.await(e.fd()), "an eventfd's counter is one 8-byte read");
            assertEquals(0, PipeNotifier.drain(e.fd()));
        }
    }

    @Test
    void aClosedNotifierRefusesItsDescriptors() {
        PipeNotifier n = new PipeNotifier();
        n.close();
        n.close();
        assertThrows(IllegalStateException.class, n::fd);
        assertThrows(IllegalStateException.class, n::signalFd);
    }
}
