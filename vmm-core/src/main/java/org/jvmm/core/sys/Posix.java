package org.jvmm.core.sys;

import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.jvmm.core.sys.darwin.DarwinLibc;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * The POSIX calls that jvmm's portable code makes (the vhost-user wire, device helpers, their notifiers,
 * the descriptor-based devices and shareable guest memory), on the host's own libc binding: {@link LinuxLibc}
 * on Linux, {@link DarwinLibc} on macOS. Each method states what it does rather than which flags it passes,
 * because the flags' values, and sometimes the calls, differ: Linux has {@code pipe2}, {@code accept4},
 * {@code SOCK_CLOEXEC}, {@code MSG_NOSIGNAL} and {@code memfd_create}; macOS sets close-on-exec with
 * {@code fcntl}, suppresses SIGPIPE per socket ({@code SO_NOSIGPIPE}) and shares memory through
 * {@code shm_open}. Code that is Linux-only by nature (KVM, seccomp, TAP, eventfd) calls {@link LinuxLibc}
 * directly.
 *
 * <p>The operating system is fixed for the life of the JVM, so after warm-up each call costs what the
 * binding's own does.
 */
public final class Posix {

    private Posix() {}

    /** Whether this JVM runs on macOS (Darwin); otherwise it runs on Linux. */
    public static final boolean DARWIN = System.getProperty("os.name", "").startsWith("Mac");

    // <poll.h> and <sys/mman.h>: the same values on Linux and macOS.
    public static final int POLLIN = 1;
    public static final int POLLOUT = 4;
    public static final int POLLERR = 8;
    public static final int POLLHUP = 0x10;

    /** Whether {@code e} says the call would have blocked (EAGAIN, 11 on Linux and 35 on macOS). */
    public static boolean wouldBlock(SysException e) {
        return e.errnoName().equals("EAGAIN") || e.errnoName().equals("EWOULDBLOCK");
    }

    /** Whether {@code e} says a signal interrupted the call (EINTR). */
    public static boolean interrupted(SysException e) {
        return e.errnoName().equals("EINTR");
    }

    // ---------------------------------------------------------------- descriptors and files

    /** Closes {@code fd}. */
    public static void close(int fd) {
        if (DARWIN) DarwinLibc.close(fd);
        else LinuxLibc.close(fd);
    }

    /** Reads into {@code buffer} (up to its size); the count, 0 at end of file. */
    public static long read(int fd, MemorySegment buffer) {
        return DARWIN ? DarwinLibc.read(fd, buffer) : LinuxLibc.read(fd, buffer);
    }

    /** Reads into {@code bytes[offset, offset + length)}; the count, 0 at end of file. */
    public static int read(int fd, byte[] bytes, int offset, int length) {
        return DARWIN ? DarwinLibc.read(fd, bytes, offset, length) : LinuxLibc.read(fd, bytes, offset, length);
    }

    /** Writes {@code buffer} at most once; the count written. */
    public static long write(int fd, MemorySegment buffer) {
        return DARWIN ? DarwinLibc.write(fd, buffer) : LinuxLibc.write(fd, buffer);
    }

    /** Writes {@code bytes[offset, offset + length)} at most once; the count written. */
    public static int write(int fd, byte[] bytes, int offset, int length) {
        return DARWIN ? DarwinLibc.write(fd, bytes, offset, length) : LinuxLibc.write(fd, bytes, offset, length);
    }

    /** Reads into {@code buffer} at file {@code offset}; the count, 0 at end of file. */
    public static long pread(int fd, MemorySegment buffer, long offset) {
        return DARWIN ? DarwinLibc.pread(fd, buffer, offset) : LinuxLibc.pread(fd, buffer, offset);
    }

    /** Writes {@code buffer} at file {@code offset}; the count written. */
    public static long pwrite(int fd, MemorySegment buffer, long offset) {
        return DARWIN ? DarwinLibc.pwrite(fd, buffer, offset) : LinuxLibc.pwrite(fd, buffer, offset);
    }

    /**
     * Makes the data written through {@code fd} durable: {@code fdatasync} on Linux; on macOS
     * {@code fcntl(F_FULLFSYNC)}, because macOS's {@code fsync} only hands the data to the drive, whose
     * cache may still lose it (fsync(2) on macOS says so), and a flush acknowledged to a guest must survive.
     */
    public static void syncData(int fd) {
        if (DARWIN) DarwinLibc.fullFsync(fd);
        else LinuxLibc.fdatasync(fd);
    }

    /** The length of the file behind {@code fd} ({@code fstat}'s {@code st_size}). */
    public static long fileSize(int fd) {
        return DARWIN ? DarwinLibc.fstatSize(fd) : LinuxLibc.fstatSize(fd);
    }

    /** Sets {@code fd} to length {@code length}. */
    public static void truncate(int fd, long length) {
        if (DARWIN) DarwinLibc.ftruncate(fd, length);
        else LinuxLibc.ftruncate(fd, length);
    }

    /** Opens {@code path} close-on-exec, for reading only or for reading and writing; never creates it. */
    public static int openFile(String path, boolean readOnly) {
        return DARWIN ? DarwinLibc.open(path, (readOnly ? DarwinLibc.O_RDONLY : DarwinLibc.O_RDWR) | DarwinLibc.O_CLOEXEC, 0)
                : LinuxLibc.open(path, (readOnly ? LinuxLibc.O_RDONLY : LinuxLibc.O_RDWR) | LinuxLibc.O_CLOEXEC, 0);
    }

    /** {@code <fcntl.h>}: the access modes {@link #accessMode} returns, the same numbers on Linux and macOS. */
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;

    /** How {@code fd} was opened: {@link #O_RDONLY}, {@link #O_WRONLY} or {@link #O_RDWR} ({@code F_GETFL & O_ACCMODE}). */
    public static int accessMode(int fd) {
        return (DARWIN ? DarwinLibc.fcntl(fd, DarwinLibc.F_GETFL, 0) : LinuxLibc.fcntl(fd, LinuxLibc.F_GETFL, 0)) & 3;
    }

    /**
     * Puts {@code fd}'s open file description in non-blocking mode. Its flags are shared with every process
     * holding the description: call this only on descriptors this process created for itself.
     */
    public static void setNonBlocking(int fd) {
        if (DARWIN) DarwinLibc.fcntl(fd, DarwinLibc.F_SETFL, DarwinLibc.fcntl(fd, DarwinLibc.F_GETFL, 0) | DarwinLibc.O_NONBLOCK);
        else LinuxLibc.fcntl(fd, LinuxLibc.F_SETFL, LinuxLibc.fcntl(fd, LinuxLibc.F_GETFL, 0) | LinuxLibc.O_NONBLOCK);
    }

    /**
     * Waits up to {@code timeoutMillis} (-1: for ever) until one of {@code fds} has {@code events}; each
     * descriptor's {@code revents}, in order. Negative descriptors are skipped.
     */
    public static int[] poll(int[] fds, int events, int timeoutMillis) {
        return DARWIN ? DarwinLibc.poll(fds, events, timeoutMillis) : LinuxLibc.poll(fds, events, timeoutMillis);
    }

    /** As {@link #poll(int[], int, int)} with events per descriptor. */
    public static int[] poll(int[] fds, int[] events, int timeoutMillis) {
        return DARWIN ? DarwinLibc.poll(fds, events, timeoutMillis) : LinuxLibc.poll(fds, events, timeoutMillis);
    }

    /** A pipe, close-on-exec at both ends: {read end, write end}. */
    public static int[] pipe() {
        return DARWIN ? DarwinLibc.pipe() : LinuxLibc.pipe2(LinuxLibc.O_CLOEXEC);
    }

    // ---------------------------------------------------------------- Unix sockets

    /** A close-on-exec Unix socket: a stream socket, or a datagram socket if {@code datagram}. */
    public static int unixSocket(boolean datagram) {
        if (!DARWIN) {
            return LinuxLibc.socket(LinuxLibc.AF_UNIX, (datagram ? LinuxLibc.SOCK_DGRAM : LinuxLibc.SOCK_STREAM) | LinuxLibc.SOCK_CLOEXEC, 0);
        }
        return darwinSocket(DarwinLibc.socket(DarwinLibc.AF_UNIX, datagram ? DarwinLibc.SOCK_DGRAM : DarwinLibc.SOCK_STREAM, 0));
    }

    /** Two connected close-on-exec Unix stream sockets. */
    public static int[] unixSocketPair() {
        if (!DARWIN) return LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        int[] pair = DarwinLibc.socketpair(DarwinLibc.AF_UNIX, DarwinLibc.SOCK_STREAM, 0);
        try {
            darwinSocket(pair[0]);
        } catch (RuntimeException e) {
            DarwinLibc.close(pair[1]);
            throw e;
        }
        darwinSocket(pair[1]);
        return pair;
    }

    /** macOS: close-on-exec and no SIGPIPE (its sockets have neither flag at creation); closes {@code fd} on failure. */
    private static int darwinSocket(int fd) {
        try {
            DarwinLibc.fcntl(fd, DarwinLibc.F_SETFD, DarwinLibc.FD_CLOEXEC);
            DarwinLibc.setNoSigPipe(fd);
            return fd;
        } catch (RuntimeException e) {
            DarwinLibc.close(fd);
            throw e;
        }
    }

    /** Connects the Unix socket {@code fd} to {@code path}. */
    public static void connectUnix(int fd, String path) {
        if (DARWIN) DarwinLibc.connectUnix(fd, path);
        else LinuxLibc.connectUnix(fd, path);
    }

    /** Binds the Unix socket {@code fd} to {@code path}. */
    public static void bindUnix(int fd, String path) {
        if (path.isEmpty()) throw new IllegalArgumentException("an empty path is Linux's abstract autobind: use LinuxLibc.bindUnix");
        if (DARWIN) DarwinLibc.bindUnix(fd, path);
        else LinuxLibc.bindUnix(fd, path);
    }

    /** Makes the bound socket {@code fd} accept connections, {@code backlog} pending at most. */
    public static void listen(int fd, int backlog) {
        if (DARWIN) DarwinLibc.listen(fd, backlog);
        else LinuxLibc.listen(fd, backlog);
    }

    /** The next connection on the listening socket {@code fd}, close-on-exec; blocks unless polled first. */
    public static int accept(int fd) {
        return DARWIN ? darwinSocket(DarwinLibc.accept(fd)) : LinuxLibc.accept(fd, LinuxLibc.SOCK_CLOEXEC);
    }

    /** Sends {@code bytes[offset, offset + length)} on a connected socket without raising SIGPIPE; the count sent. */
    public static int send(int fd, byte[] bytes, int offset, int length) {
        return DARWIN ? DarwinLibc.send(fd, bytes, offset, length, 0) // SO_NOSIGPIPE is set on every socket made here
                : LinuxLibc.send(fd, bytes, offset, length, LinuxLibc.MSG_NOSIGNAL);
    }

    /** Sends {@code data} with {@code fds} attached as SCM_RIGHTS (none if empty), without SIGPIPE; the bytes sent. */
    public static long sendWithFds(int socket, byte[] data, int[] fds) {
        return DARWIN ? DarwinLibc.sendWithFds(socket, data, fds) : LinuxLibc.sendWithFds(socket, data, fds);
    }

    /**
     * Receives up to {@code maxBytes} bytes and up to {@code maxFds} descriptors (close-on-exec). More
     * descriptors than {@code maxFds} are closed and the call fails: a peer cannot leak descriptors into us.
     */
    public static Received recvWithFds(int socket, int maxBytes, int maxFds) {
        return DARWIN ? DarwinLibc.recvWithFds(socket, maxBytes, maxFds) : LinuxLibc.recvWithFds(socket, maxBytes, maxFds);
    }

    // ---------------------------------------------------------------- shared memory

    /**
     * How the names of jvmm's POSIX shared memory objects on macOS begin: 16 lower-case hex digits follow.
     * A helper's Seatbelt profile lets it map only objects so named.
     */
    public static final String SHARED_MEMORY_PREFIX = "/jvmm-";

    /**
     * A new shareable memory file of {@code size} bytes (zero-filled, no name left behind), close-on-exec:
     * a memfd on Linux; on macOS a POSIX shared memory object, unlinked at once so that only descriptors
     * name it. Another process maps it after receiving the descriptor (vhost-user's SET_MEM_TABLE).
     */
    public static int sharedMemory(String name, long size) {
        int fd;
        if (DARWIN) {
            // PSHMNAMLEN is 31: the prefix and 16 random hex digits fit, and O_EXCL makes the object ours alone.
            String shm = SHARED_MEMORY_PREFIX + HexFormat.of().toHexDigits(new SecureRandom().nextLong());
            fd = DarwinLibc.shmOpen(shm, DarwinLibc.O_RDWR | DarwinLibc.O_CREAT | DarwinLibc.O_EXCL | DarwinLibc.O_CLOEXEC, 0600);
            DarwinLibc.shmUnlink(shm);
        } else {
            fd = LinuxLibc.memfdCreate(name, LinuxLibc.MFD_CLOEXEC);
        }
        try {
            truncate(fd, size);
            return fd;
        } catch (RuntimeException e) {
            close(fd);
            throw e;
        }
    }

    /** Maps {@code size} bytes of {@code fd} from {@code offset}, shared and readable and writable. */
    public static MemorySegment mapShared(int fd, long offset, long size) {
        return DARWIN ? DarwinLibc.mmap(size, DarwinLibc.PROT_READ | DarwinLibc.PROT_WRITE, DarwinLibc.MAP_SHARED, fd, offset)
                : LinuxLibc.mmap(size, LinuxLibc.PROT_READ | LinuxLibc.PROT_WRITE, LinuxLibc.MAP_SHARED, fd, offset);
    }

    /** Unmaps a segment {@link #mapShared} returned. */
    public static void unmap(MemorySegment mapping) {
        if (DARWIN) DarwinLibc.munmap(mapping);
        else LinuxLibc.munmap(mapping);
    }
}
