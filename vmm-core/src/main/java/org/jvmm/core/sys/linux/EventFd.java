package org.jvmm.core.sys.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.SysException;

/**
 * A Linux eventfd ({@code <sys/eventfd.h>}) as an {@link EventNotifier}: a 64-bit counter that writes add
 * to and a read takes and clears. KVM signals it for ioeventfd and waits on it for irqfd; helper processes
 * receive its descriptor over SCM_RIGHTS.
 */
public final class EventFd implements EventNotifier {

    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** A new blocking, close-on-exec eventfd with counter zero. */
    public EventFd() {
        this(LinuxLibc.eventfd(0, LinuxLibc.EFD_CLOEXEC));
    }

    /** Takes ownership of an existing eventfd descriptor (for instance one received from another process). */
    public EventFd(int fd) {
        this.fd = fd;
    }

    /** The descriptor; refused once closed, because the number may then name another file. */
    @Override
    public int fd() {
        if (closed.get()) throw new IllegalStateException("eventfd " + fd + " is closed");
        return fd;
    }

    @Override
    public void signal() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1L);
            LinuxLibc.write(fd(), one);
        }
    }

    /** Blocks until the counter is non-zero and returns it, clearing it; retries if a signal interrupts the wait. */
    @Override
    public long await() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment value = a.allocate(ValueLayout.JAVA_LONG);
            while (true) {
                try {
                    LinuxLibc.read(fd(), value);
                    return value.get(ValueLayout.JAVA_LONG, 0);
                } catch (SysException e) {
                    if (e.errno() != Errno.EINTR) throw e;
                }
            }
        }
    }

    /** The counter if non-zero (clearing it), or 0 after waiting {@code timeoutMillis} without a signal. */
    public long await(int timeoutMillis) {
        int[] revents = LinuxLibc.poll(new int[] {fd()}, LinuxLibc.POLLIN, timeoutMillis);
        return (revents[0] & LinuxLibc.POLLIN) != 0 ? await() : 0;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) LinuxLibc.close(fd);
    }
}
