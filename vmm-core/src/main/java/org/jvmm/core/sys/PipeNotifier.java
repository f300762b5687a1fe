package org.jvmm.core.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An {@link EventNotifier} over a pipe, for hosts without eventfd (macOS) and for hypervisors without
 * ioeventfd, where the exit that reports a queue notification writes the pipe itself. Waiters poll the read
 * end ({@link #fd()}); signallers, in this process or another that received {@link #signalFd()}, write eight
 * bytes holding 1, which is what an eventfd takes, so a peer written for eventfds (vhost-user back-ends
 * write a {@code uint64_t} to their call descriptor) signals a pipe unchanged.
 *
 * <p>Both ends are non-blocking: a signal never blocks its sender (a full pipe already holds a pending
 * wake-up, so the extra one is dropped, as an eventfd would fold it into its counter), and {@link #await}
 * drains everything written so far in one wake-up, however many signals it held.
 */
public final class PipeNotifier implements EventNotifier {

    /** What a signal writes: a native-order uint64 1, as {@code eventfd_write(fd, 1)} does. */
    private static final byte[] ONE = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.nativeOrder()).putLong(1).array();
    /** Room to drain up to 64 signals per read. */
    private static final int DRAIN = 512;

    private final int readEnd;
    private final int writeEnd;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** A new pipe, close-on-exec and non-blocking at both ends. */
    public PipeNotifier() {
        int[] ends = Posix.pipe();
        try {
            Posix.setNonBlocking(ends[0]);
            Posix.setNonBlocking(ends[1]);
        } catch (RuntimeException e) {
            Posix.close(ends[0]);
            Posix.close(ends[1]);
            throw e;
        }
        this.readEnd = ends[0];
        this.writeEnd = ends[1];
    }

    /** The read end: readable while a signal is pending. */
    @Override
    public int fd() {
        if (closed.get()) throw new IllegalStateException("pipe " + readEnd + " is closed");
        return readEnd;
    }

    /** The write end, for a peer that signals this notifier. */
    @Override
    public int signalFd() {
        if (closed.get()) throw new IllegalStateException("pipe " + writeEnd + " is closed");
        return writeEnd;
    }

    @Override
    public void signal() {
        signal(signalFd());
    }

    /** Writes one signal to {@code fd}, an eventfd or a pipe's write end; a full non-blocking pipe keeps its pending wake-up. */
    public static void signal(int fd) {
        while (true) {
            try {
                Posix.write(fd, ONE, 0, ONE.length);
                return;
            } catch (SysException e) {
                if (Posix.wouldBlock(e)) return;
                if (!Posix.interrupted(e)) throw e;
            }
        }
    }

    /** Blocks until a signal is pending, then takes every pending signal; returns how many bytes that was (at least 1). */
    @Override
    public long await() {
        return await(fd());
    }

    /**
     * Blocks until {@code fd} (an eventfd or a pipe's read end, blocking or not) is readable and takes what is
     * pending: an eventfd's counter, or up to 512 bytes of a pipe. Returns a non-zero count. A read that finds
     * nothing (another reader won the race) waits again.
     */
    public static long await(int fd) {
        while (true) {
            try {
                Posix.poll(new int[] {fd}, Posix.POLLIN, -1);
                long n = drain(fd);
                if (n != 0) return n;
            } catch (SysException e) {
                if (!Posix.interrupted(e)) throw e;
            }
        }
    }

    /** Each thread's landing place for drained signals: native, so a drain neither allocates nor copies. */
    private static final ThreadLocal<MemorySegment> DRAINED = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(DRAIN));

    /**
     * Takes what is pending on {@code fd} without waiting: the count of bytes read (an eventfd's 8, however
     * large its counter), 0 if nothing was pending. One read, and more only while a read fills the buffer and
     * the descriptor is still readable: the common case (a few signals, or an eventfd) costs one call, and a
     * blocking descriptor is never read when empty.
     */
    public static long drain(int fd) {
        MemorySegment buffer = DRAINED.get();
        long total = 0;
        while (true) {
            long n;
            try {
                n = Posix.read(fd, buffer);
            } catch (SysException e) {
                if (Posix.wouldBlock(e) || Posix.interrupted(e)) return total;
                throw e;
            }
            total += n;
            if (n < DRAIN || (Posix.poll(new int[] {fd}, Posix.POLLIN, 0)[0] & Posix.POLLIN) == 0) return total;
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Posix.close(readEnd);
            Posix.close(writeEnd);
        }
    }
}
