package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * jvmm's end of {@code --sandbox-log} against a helper that misbehaves (the logging itself is shown with
 * a real filter in {@link JailTest}): whatever arrives instead of a seccomp listener ends the log with
 * one line, and a helper that goes away without sending one ends it silently.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SeccompLoggerTest {

    @Test
    void somethingElseThanAListenerEndsTheLogWithOneLine() throws Exception {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Thread logger = SeccompLogger.start(pair[0], "blk", log::add);
        try (EventFd notAListener = new EventFd()) {
            notAListener.signal();   // readable, so the logger tries to receive a notification from it
            LinuxLibc.sendWithFds(pair[1], new byte[] {'L'}, new int[] {notAListener.fd()});
            logger.join(TimeUnit.SECONDS.toMillis(20));
        } finally {
            LinuxLibc.close(pair[1]);
        }
        assertFalse(logger.isAlive());
        assertEquals(1, log.size(), log.toString());
        assertTrue(log.getFirst().startsWith("helper blk: the seccomp log ended ("), log.getFirst());
    }

    @Test
    void aHelperThatNeverSendsItsListenerEndsTheLogSilently() throws Exception {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Thread logger = SeccompLogger.start(pair[0], "net", log::add);
        LinuxLibc.close(pair[1]);
        logger.join(TimeUnit.SECONDS.toMillis(20));
        assertFalse(logger.isAlive());
        assertEquals(List.of(), log);
    }
}
