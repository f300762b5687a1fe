package org.jvmm.core.sys.darwin;

import java.lang.foreign.MemorySegment;
import org.jvmm.core.sys.Received;

/**
 * The libc calls jvmm makes on macOS: the signatures {@link org.jvmm.core.sys.Posix} calls, bound in the
 * next commit.
 */
public final class DarwinLibc {

    private DarwinLibc() {}

    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 0x4, O_CREAT = 0x200, O_EXCL = 0x800,
            O_CLOEXEC = 0x1000000;
    public static final int F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, FD_CLOEXEC = 1, F_FULLFSYNC = 51;
    public static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_ANON = 0x1000;
    public static final int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOL_SOCKET = 0xffff, SCM_RIGHTS = 1,
            SO_NOSIGPIPE = 0x1022, MSG_CTRUNC = 0x20;
    public static final int POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 0x10;

    private static UnsupportedOperationException todo() { return new UnsupportedOperationException("not bound yet"); }

    public static int open(String path, int flags, int mode) { throw todo(); }
    public static void close(int fd) { throw todo(); }
    public static long read(int fd, MemorySegment buffer) { throw todo(); }
    public static int read(int fd, byte[] bytes, int offset, int length) { throw todo(); }
    public static long write(int fd, MemorySegment buffer) { throw todo(); }
    public static int write(int fd, byte[] bytes, int offset, int length) { throw todo(); }
    public static long pread(int fd, MemorySegment buffer, long offset) { throw todo(); }
    public static long pwrite(int fd, MemorySegment buffer, long offset) { throw todo(); }
    public static void fullFsync(int fd) { throw todo(); }
    public static void ftruncate(int fd, long length) { throw todo(); }
    public static long fstatSize(int fd) { throw todo(); }
    public static void flock(int fd, int operation) { throw todo(); }
    public static int fcntl(int fd, int cmd, int arg) { throw todo(); }
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) { throw todo(); }
    public static void munmap(MemorySegment mapping) { throw todo(); }
    public static int shmOpen(String name, int flags, int mode) { throw todo(); }
    public static void shmUnlink(String name) { throw todo(); }
    public static int[] pipe() { throw todo(); }
    public static int[] poll(int[] fds, int events, int timeoutMillis) { throw todo(); }
    public static int[] poll(int[] fds, int[] events, int timeoutMillis) { throw todo(); }
    public static int socket(int domain, int type, int protocol) { throw todo(); }
    public static int[] socketpair(int domain, int type, int protocol) { throw todo(); }
    public static void setNoSigPipe(int fd) { throw todo(); }
    public static void connectUnix(int fd, String path) { throw todo(); }
    public static void bindUnix(int fd, String path) { throw todo(); }
    public static void listen(int fd, int backlog) { throw todo(); }
    public static int accept(int fd) { throw todo(); }
    public static int send(int fd, byte[] bytes, int offset, int length, int flags) { throw todo(); }
    public static long sendWithFds(int socket, byte[] data, int[] fds) { throw todo(); }
    public static Received recvWithFds(int socket, int maxBytes, int maxFds) { throw todo(); }
    public static boolean isatty(int fd) { throw todo(); }
    public static int getpid() { throw todo(); }
    public static String strerror(int errno) { throw todo(); }
}
