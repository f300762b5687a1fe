package org.jvmm.core.sys.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jvmm.core.sys.SysException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Exercises each libc downcall against the real kernel. */
@Timeout(30)
class LinuxLibcTest {

    @Test
    void openFailureNamesCallReasonAndErrno() {
        SysException e = assertThrows(SysException.class,
                () -> LinuxLibc.open("/nonexistent/jvmm-test", LinuxLibc.O_RDONLY, 0));
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("open /nonexistent/jvmm-test: No such file or directory (ENOENT)", e.getMessage());
    }

    @Test
    void openReadWritePreadPwriteClose(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("f");
        int fd = LinuxLibc.open(file.toString(), LinuxLibc.O_RDWR | LinuxLibc.O_CREAT | LinuxLibc.O_CLOEXEC, 0600);
        byte[] hello = "hello, world".getBytes(StandardCharsets.US_ASCII);
        assertEquals(hello.length, LinuxLibc.write(fd, hello, 0, hello.length));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(5);
            assertEquals(5, LinuxLibc.pread(fd, buf, 7));
            assertEquals("world", new String(buf.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
            buf.copyFrom(MemorySegment.ofArray("WORLD".getBytes(StandardCharsets.US_ASCII)));
            assertEquals(5, LinuxLibc.pwrite(fd, buf, 7));
        }
        LinuxLibc.ftruncate(fd, 5);
        LinuxLibc.flock(fd, LinuxLibc.LOCK_EX | LinuxLibc.LOCK_NB);
        LinuxLibc.flock(fd, LinuxLibc.LOCK_UN);
        LinuxLibc.close(fd);
        assertEquals("hello", Files.readString(file));
        SysException twice = assertThrows(SysException.class, () -> LinuxLibc.close(fd));
        assertEquals(Errno.EBADF, twice.errno());
    }

    @Test
    void memfdMappedSharedTwiceSeesTheSameBytes() {
        int fd = LinuxLibc.memfdCreate("jvmm-test", LinuxLibc.MFD_CLOEXEC);
        LinuxLibc.ftruncate(fd, 8192);
        MemorySegment a = LinuxLibc.mmap(8192, LinuxLibc.PROT_READ | LinuxLibc.PROT_WRITE, LinuxLibc.MAP_SHARED, fd, 0);
        MemorySegment b = LinuxLibc.mmap(4096, LinuxLibc.PROT_READ, LinuxLibc.MAP_SHARED, fd, 4096);
        a.set(ValueLayout.JAVA_LONG, 4096, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, b.get(ValueLayout.JAVA_LONG, 0));
        LinuxLibc.munmap(b);
        LinuxLibc.munmap(a);
        LinuxLibc.close(fd);
    }

    @Test
    void mmapFailureIsReported() {
        SysException e = assertThrows(SysException.class,
                () -> LinuxLibc.mmap(4096, LinuxLibc.PROT_READ, LinuxLibc.MAP_SHARED, 1_000_000, 0));
        assertEquals(Errno.EBADF, e.errno());
    }

    @Test
    void eventfdCountsSignals() {
        try (EventFd e = new EventFd()) {
            e.signal();
            e.signal();
            e.signal();
            assertEquals(3, e.await());
            assertEquals(0, e.await(10));
        }
    }

    @Test
    void fcntlSetsNonBlocking() {
        try (EventFd e = new EventFd()) {
            int flags = LinuxLibc.fcntl(e.fd(), LinuxLibc.F_GETFL, 0);
            LinuxLibc.fcntl(e.fd(), LinuxLibc.F_SETFL, flags | LinuxLibc.O_NONBLOCK);
            SysException again = assertThrows(SysException.class, e::await);
            assertEquals(Errno.EAGAIN, again.errno());
        }
    }

    @Test
    void descriptorsTravelOverSocketPairs() {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        try (EventFd sent = new EventFd()) {
            byte[] payload = {1, 2, 3, 4, 5};
            assertEquals(5, LinuxLibc.sendWithFds(pair[0], payload, new int[] {sent.fd()}));
            org.jvmm.core.sys.Received r = LinuxLibc.recvWithFds(pair[1], 64, 4);
            assertArrayEquals(payload, r.data());
            assertEquals(1, r.fds().length);
            assertNotEquals(sent.fd(), r.fds()[0]);
            try (EventFd received = new EventFd(r.fds()[0])) {
                received.signal();
                assertEquals(1, sent.await()); // the same kernel object under two descriptors
            }
        } finally {
            LinuxLibc.close(pair[0]);
            LinuxLibc.close(pair[1]);
        }
    }

    @Test
    void tooManyDescriptorsAreClosedAndRejected() {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_SEQPACKET | LinuxLibc.SOCK_CLOEXEC, 0);
        try (EventFd a = new EventFd(); EventFd b = new EventFd(); EventFd c = new EventFd()) {
            LinuxLibc.sendWithFds(pair[0], new byte[] {9}, new int[] {a.fd(), b.fd(), c.fd()});
            SysException e = assertThrows(SysException.class, () -> LinuxLibc.recvWithFds(pair[1], 16, 1));
            assertEquals(90, e.errno());
        } finally {
            LinuxLibc.close(pair[0]);
            LinuxLibc.close(pair[1]);
        }
    }

    @Test
    void pollReportsReadiness() {
        try (EventFd e = new EventFd()) {
            assertEquals(0, LinuxLibc.poll(new int[] {e.fd()}, LinuxLibc.POLLIN, 0)[0]);
            e.signal();
            assertEquals(LinuxLibc.POLLIN, LinuxLibc.poll(new int[] {e.fd()}, LinuxLibc.POLLIN, 0)[0]);
        }
    }

    @Test
    void processAndThreadCalls() {
        assertEquals(ProcessHandle.current().pid(), LinuxLibc.getpid());
        assertNotEquals(0, LinuxLibc.pthreadSelf());
        assertTrue(LinuxLibc.sigrtmin() >= 32);
        LinuxLibc.pthreadKill(LinuxLibc.pthreadSelf(), 0); // signal 0: only checks the thread exists
        int dumpable = LinuxLibc.prctl(3 /* PR_GET_DUMPABLE */, 0, 0, 0, 0);
        assertTrue(dumpable == 0 || dumpable == 1);
    }

    @Test
    void clocksAdvance() {
        long wall = LinuxLibc.clockGettime(LinuxLibc.CLOCK_MONOTONIC);
        long cpu = LinuxLibc.clockGettime(LinuxLibc.CLOCK_THREAD_CPUTIME_ID);
        long sum = 0;
        for (int i = 0; i < 5_000_000; i++) sum += i ^ (sum >>> 3); // burn some CPU on this thread
        assertTrue(sum != 42);
        assertTrue(LinuxLibc.clockGettime(LinuxLibc.CLOCK_MONOTONIC) > wall);
        assertTrue(LinuxLibc.clockGettime(LinuxLibc.CLOCK_THREAD_CPUTIME_ID) > cpu);
    }

    @Test
    void terminalCallsOnANonTerminal() {
        try (EventFd e = new EventFd()) {
            assertFalse(LinuxLibc.isatty(e.fd()));
            SysException notTty = assertThrows(SysException.class, () -> LinuxLibc.tcgetattr(e.fd()));
            assertEquals(Errno.ENOTTY, notTty.errno());
        }
        byte[] cooked = new byte[LinuxLibc.TERMIOS_SIZE];
        cooked[12] = (byte) 0x0a; // c_lflag: ICANON | ECHO... some cooked bits
        byte[] raw = LinuxLibc.cfmakeraw(cooked);
        assertEquals(0, raw[12] & 0x0a, "cfmakeraw clears ICANON and ECHO");
    }
}
