package org.jvmm.core.sys.darwin;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jvmm.core.sys.Received;
import org.jvmm.core.sys.SysException;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The libc calls jvmm makes on macOS, one FFM downcall each into libSystem. The constants and struct
 * layouts follow the macOS SDK's headers as published in Apple's xnu sources ({@code bsd/sys/*.h},
 * {@code bsd/arm/_param.h}, {@code bsd/i386/_param.h}) and Libc sources ({@code include/unistd.h}), for
 * LP64 on arm64 and x86-64; each group names its header.
 *
 * <p><b>This binding has never run on macOS in this project</b>: there is no Mac here. It is
 * compile-checked, and its struct layouts, control-message arithmetic and constants are unit-tested
 * against the headers' values ({@code DarwinLibcLayoutTest}) on Linux, where every call refuses to link.
 *
 * <p>As {@link org.jvmm.core.sys.linux.LinuxLibc} does, each method follows the C function of the same
 * name (the header is named on the method); a failing call throws {@link SysException} with the call, an
 * argument summary, {@code strerror} and the name from {@link DarwinErrno} (so portable code can test
 * {@code errnoName().equals("EAGAIN")} on both systems). Errno is captured with
 * {@link Linker.Option#captureCallState}, since the JVM may call libc itself before a later read of it.
 *
 * <p>Variadic functions ({@code open}, {@code fcntl}, {@code shm_open}) are declared with
 * {@link Linker.Option#firstVariadicArg}. That matters more here than on Linux: Apple's arm64 calling
 * convention passes variadic arguments on the stack, not in registers, so declaring {@code open}'s mode as
 * a fixed argument would hand the callee garbage.
 *
 * <p>Darwin has no {@code pipe2}, {@code accept4}, {@code SOCK_CLOEXEC} or {@code MSG_CMSG_CLOEXEC}, so
 * {@link #pipe}, {@link #accept} and {@link #recvWithFds} set {@code FD_CLOEXEC} with {@code fcntl} on
 * every descriptor they return, closing them all if that fails. Between the call and the {@code fcntl} is
 * a window in which another thread's {@code fork}+{@code exec} would inherit them. {@link #open} and
 * {@link #shmOpen} take {@code O_CLOEXEC}; {@link #socket} and {@link #socketpair} do not set it
 * ({@code org.jvmm.core.sys.Posix} does, with {@code SO_NOSIGPIPE}, on the sockets it makes). Darwin has no
 * per-call SIGPIPE suppression that every supported release honours, so the sending calls rely on
 * {@link #setNoSigPipe} having been called on the socket.
 *
 * <p>Downcall handles are linked lazily, per group of related calls, in nested holder classes. On any
 * system but macOS every method that would link refuses first with an {@link UnsupportedOperationException},
 * before a holder is touched: glibc exports most of these names too, and linking them with Darwin's
 * constants and layouts would be silently wrong. The class itself loads anywhere, and its package-private
 * layout functions are pure, so the tests run on Linux.
 */
public final class DarwinLibc {

    private DarwinLibc() {}

    // bsd/sys/fcntl.h: open(2) flags, fcntl(2) commands and descriptor flags, flock(2) operations.
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 0x4, O_CREAT = 0x200, O_EXCL = 0x800,
            O_CLOEXEC = 0x1000000;
    public static final int F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, FD_CLOEXEC = 1, F_FULLFSYNC = 51;
    public static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    // bsd/sys/mman.h: MAP_ANONYMOUS is a synonym of MAP_ANON there; MAP_FAILED is ((void *)-1).
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_ANON = 0x1000;
    // bsd/sys/socket.h (SO_NOSIGPIPE is Apple's: "No SIGPIPE on EPIPE").
    public static final int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOL_SOCKET = 0xffff, SCM_RIGHTS = 1,
            SO_NOSIGPIPE = 0x1022, MSG_CTRUNC = 0x20;
    // bsd/sys/poll.h: the same values as Linux.
    public static final int POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 0x10;

    // ---------------------------------------------------------------- linking and errors

    private static final boolean MACOS = System.getProperty("os.name", "").startsWith("Mac");

    /** Refuses on any system but macOS, before anything links (see the class comment). */
    static void requireDarwin() {
        if (!MACOS) {
            throw new UnsupportedOperationException(
                    "DarwinLibc is macOS's libc binding; this JVM runs on " + System.getProperty("os.name"));
        }
    }

    /** The linker and libSystem's symbols, looked up only when the first call links. */
    private static final class Native {
        static final Linker LINKER = Linker.nativeLinker();
        static final SymbolLookup LIBSYSTEM = LINKER.defaultLookup();
    }

    /** The errno capture layout, likewise resolved only on first use. */
    private static final class CallState {
        static final StructLayout LAYOUT = Linker.Option.captureStateLayout();
        static final VarHandle ERRNO = LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    }

    /** One errno capture buffer per thread, so that calls do not allocate one each. */
    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CallState.LAYOUT));

    private static MethodHandle link(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        requireDarwin(); // a second guard: the public methods refuse before reaching a holder
        MemorySegment symbol = Native.LIBSYSTEM.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libSystem has no " + name));
        return Native.LINKER.downcallHandle(symbol, descriptor, options);
    }

    /** Links {@code name} with errno capture: the handle takes the capture segment first. */
    private static MethodHandle linkErrno(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = Arrays.copyOf(options, options.length + 1);
        all[options.length] = CallState.CAPTURE_ERRNO;
        return link(name, descriptor, all);
    }

    /** This thread's errno capture segment; refuses off macOS, so every caller checks the OS first. */
    private static MemorySegment state() {
        requireDarwin();
        return STATE.get();
    }

    private static int errno(MemorySegment state) {
        return (int) CallState.ERRNO.get(state, 0L);
    }

    private static SysException fail(String call, int errno) {
        return new SysException(call, errno, DarwinErrno.name(errno), strerror(errno));
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    private static int check(int result, MemorySegment state, String call) {
        if (result < 0) throw fail(call, errno(state));
        return result;
    }

    private static long check(long result, MemorySegment state, String call) {
        if (result < 0) throw fail(call, errno(state));
        return result;
    }

    // ---------------------------------------------------------------- <string.h>

    private static final class Str {
        static final MethodHandle STRERROR = link("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /** {@code <string.h> strerror} (Libc {@code include/_string.h}): the system's text for {@code errno}. */
    public static String strerror(int errno) {
        requireDarwin();
        try {
            MemorySegment s = (MemorySegment) Str.STRERROR.invokeExact(errno);
            return s.equals(MemorySegment.NULL) ? "errno " + errno : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- <fcntl.h>, <unistd.h>, <sys/stat.h>

    private static final class Files {
        static final MethodHandle OPEN = linkErrno("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                Linker.Option.firstVariadicArg(2));
        static final MethodHandle CLOSE = linkErrno("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle READ = linkErrno("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle WRITE = linkErrno("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle PREAD = linkErrno("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle PWRITE = linkErrno("pwrite", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle FTRUNCATE = linkErrno("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
        static final MethodHandle FSTAT = linkErrno(fstatSymbol(System.getProperty("os.arch")),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle FLOCK = linkErrno("flock", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle FCNTL = linkErrno("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
                Linker.Option.firstVariadicArg(2));
    }

    /** {@code <fcntl.h> open} ({@code bsd/sys/fcntl.h}, variadic): opens {@code path} with {@code flags} (and {@code mode} for O_CREAT). */
    public static int open(String path, int flags, int mode) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            return check((int) Files.OPEN.invokeExact(st, a.allocateFrom(path), flags, mode), st, "open " + path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <unistd.h> close} (Libc {@code include/unistd.h}). */
    public static void close(int fd) {
        MemorySegment st = state();
        try {
            check((int) Files.CLOSE.invokeExact(st, fd), st, "close fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Closes each of {@code fds}, ignoring failures: for cleaning up after another error. */
    private static void closeAll(int[] fds) {
        for (int fd : fds) {
            try {
                close(fd);
            } catch (RuntimeException ignored) {
                // already failing; the first error is the one to report
            }
        }
    }

    /** {@code <unistd.h> read} into {@code buffer} (up to its size); returns the count, 0 at end of file. */
    public static long read(int fd, MemorySegment buffer) {
        MemorySegment st = state();
        try {
            return check((long) Files.READ.invokeExact(st, fd, buffer, buffer.byteSize()), st, "read fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <unistd.h> read} into {@code bytes[offset, offset + length)}; returns the count, 0 at end of file. */
    public static int read(int fd, byte[] bytes, int offset, int length) {
        requireDarwin();
        MemorySegment buf = scratch(length);
        int n = (int) read(fd, buf);
        MemorySegment.copy(buf, JAVA_BYTE, 0, bytes, offset, n);
        return n;
    }

    // The byte[] overloads go through one native buffer per thread rather than a fresh, zeroed one per call.
    private static final ThreadLocal<MemorySegment> SCRATCH = new ThreadLocal<>();

    /** This thread's scratch buffer, sliced to {@code length} bytes (grown when too small; freed with the thread). */
    private static MemorySegment scratch(int length) {
        MemorySegment s = SCRATCH.get();
        if (s == null || s.byteSize() < length) {
            s = Arena.ofAuto().allocate(Math.max(length, 4096));
            SCRATCH.set(s);
        }
        return s.asSlice(0, length);
    }

    /** {@code <unistd.h> write} of all of {@code buffer} at most once; returns the count written. */
    public static long write(int fd, MemorySegment buffer) {
        MemorySegment st = state();
        try {
            return check((long) Files.WRITE.invokeExact(st, fd, buffer, buffer.byteSize()), st, "write fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <unistd.h> write} of {@code bytes[offset, offset + length)} at most once; returns the count written. */
    public static int write(int fd, byte[] bytes, int offset, int length) {
        requireDarwin();
        MemorySegment buf = scratch(length);
        MemorySegment.copy(bytes, offset, buf, JAVA_BYTE, 0, length);
        return (int) write(fd, buf);
    }

    /** {@code <unistd.h> pread}: reads into {@code buffer} at file {@code offset} ({@code off_t}, 64 bits). */
    public static long pread(int fd, MemorySegment buffer, long offset) {
        MemorySegment st = state();
        try {
            return check((long) Files.PREAD.invokeExact(st, fd, buffer, buffer.byteSize(), offset), st,
                    "pread fd " + fd + " at " + offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <unistd.h> pwrite}: writes {@code buffer} at file {@code offset}. */
    public static long pwrite(int fd, MemorySegment buffer, long offset) {
        MemorySegment st = state();
        try {
            return check((long) Files.PWRITE.invokeExact(st, fd, buffer, buffer.byteSize(), offset), st,
                    "pwrite fd " + fd + " at " + offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <fcntl.h> fcntl(fd, F_FULLFSYNC)} ({@code bsd/sys/fcntl.h}: "fsync + ask the drive to flush to
     * the media"): macOS's {@code fsync} stops at handing the data to the drive, whose cache may still lose
     * it. A file system that cannot do it fails the call (a {@link SysException}); this does not fall back.
     */
    public static void fullFsync(int fd) {
        MemorySegment st = state();
        try {
            check((int) Files.FCNTL.invokeExact(st, fd, F_FULLFSYNC, 0), st, "fcntl F_FULLFSYNC fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <unistd.h> ftruncate}: sets the size of {@code fd} to {@code length} bytes. A POSIX shared
     * memory object from {@link #shmOpen} takes its size once: {@code pshm_truncate} (bsd/kern/posix_shm.c)
     * fails a second ftruncate with EINVAL.
     */
    public static void ftruncate(int fd, long length) {
        MemorySegment st = state();
        try {
            check((int) Files.FTRUNCATE.invokeExact(st, fd, length), st, "ftruncate fd " + fd + " to " + length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // bsd/sys/stat.h, struct stat with 64-bit inodes (__DARWIN_STRUCT_STAT64): dev_t (int32) st_dev @0,
    // mode_t (u16) st_mode @4, nlink_t (u16) st_nlink @6, ino64 st_ino @8, uid @16, gid @20, dev_t st_rdev @24,
    // four struct timespec (16 bytes each on LP64) @32..96, off_t st_size @96, blkcnt_t @104, blksize_t @112,
    // st_flags @116, st_gen @120, st_lspare @124, int64 st_qspare[2] @128; sizeof 144.
    static final int STAT_SIZE = 144, STAT_ST_SIZE = 96;

    /**
     * The libSystem symbol of {@code fstat} with the 64-bit-inode {@code struct stat} on {@code osArch}.
     * bsd/sys/stat.h declares {@code fstat} with {@code __DARWIN_INODE64(fstat)}, and bsd/sys/cdefs.h makes
     * that suffix empty where only 64-bit inodes exist (macOS arm64) and {@code "$INODE64"} on macOS x86-64,
     * whose plain {@code fstat} still fills the old 32-bit-inode layout.
     */
    static String fstatSymbol(String osArch) {
        return switch (osArch) {
            case "aarch64", "arm64" -> "fstat";
            case "x86_64", "amd64" -> "fstat$INODE64";
            default -> throw new UnsupportedOperationException("DarwinLibc knows no fstat symbol for " + osArch);
        };
    }

    /** {@code st_size} of a {@code struct stat} that {@code fstat} filled. */
    static long stSize(MemorySegment stat) {
        return stat.get(JAVA_LONG, STAT_ST_SIZE);
    }

    /**
     * {@code <sys/stat.h> fstat}'s {@code st_size}: the length of the file behind {@code fd}. A peer's
     * memory descriptor is checked with it before mapping, since touching a mapping past the end of its
     * file raises SIGBUS.
     */
    public static long fstatSize(int fd) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment stat = a.allocate(STAT_SIZE, 8);
            check((int) Files.FSTAT.invokeExact(st, fd, stat), st, "fstat fd " + fd);
            return stSize(stat);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/file.h> flock} ({@code bsd/sys/fcntl.h}): {@code operation} is LOCK_SH, LOCK_EX or LOCK_UN, optionally | LOCK_NB. */
    public static void flock(int fd, int operation) {
        MemorySegment st = state();
        try {
            check((int) Files.FLOCK.invokeExact(st, fd, operation), st, "flock fd " + fd + " op " + operation);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <fcntl.h> fcntl} (variadic) with an integer argument (F_GETFL, F_SETFL, F_GETFD, F_SETFD). */
    public static int fcntl(int fd, int cmd, int arg) {
        MemorySegment st = state();
        try {
            return check((int) Files.FCNTL.invokeExact(st, fd, cmd, arg), st, "fcntl fd " + fd + " cmd " + cmd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Sets FD_CLOEXEC on {@code fd} (its only descriptor flag on Darwin, so nothing else is lost). */
    private static void setCloseOnExec(int fd) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }

    /** Sets FD_CLOEXEC on each of {@code fds}; if that fails, closes them all and rethrows. */
    private static int[] closeOnExec(int[] fds) {
        try {
            for (int fd : fds) setCloseOnExec(fd);
            return fds;
        } catch (RuntimeException e) {
            closeAll(fds);
            throw e;
        }
    }

    // ---------------------------------------------------------------- <sys/mman.h>, <unistd.h>

    private static final class Memory {
        static final MethodHandle MMAP = linkErrno("mmap",
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        static final MethodHandle MUNMAP = linkErrno("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle SHM_OPEN = linkErrno("shm_open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                Linker.Option.firstVariadicArg(2));
        static final MethodHandle SHM_UNLINK = linkErrno("shm_unlink", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle PIPE = linkErrno("pipe", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    /**
     * {@code <sys/mman.h> mmap}: maps {@code length} bytes of {@code fd} at {@code offset} (fd -1 with
     * MAP_ANON) and returns a segment of that size; MAP_FAILED ({@code (void *)-1}) becomes a
     * {@link SysException}. The caller unmaps it with {@link #munmap}.
     */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) {
        MemorySegment st = state();
        try {
            MemorySegment p = (MemorySegment) Memory.MMAP.invokeExact(st, MemorySegment.NULL, length, prot, flags, fd, offset);
            if (p.address() == -1L) {
                throw fail("mmap %d bytes of fd %d at %d (prot %d, flags 0x%x)".formatted(length, fd, offset, prot, flags), errno(st));
            }
            return p.reinterpret(length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/mman.h> munmap} of a segment {@link #mmap} returned. */
    public static void munmap(MemorySegment mapping) {
        MemorySegment st = state();
        try {
            check((int) Memory.MUNMAP.invokeExact(st, mapping, mapping.byteSize()), st,
                    "munmap 0x" + Long.toHexString(mapping.address()));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <sys/mman.h> shm_open} (variadic): a POSIX shared memory object called {@code name} (a
     * leading "/" and at most PSHMNAMLEN, 31, bytes: {@code bsd/sys/posix_shm.h}). xnu makes the descriptor
     * close-on-exec whatever the flags ({@code bsd/kern/posix_shm.c}); O_CLOEXEC is accepted and changes
     * nothing.
     */
    public static int shmOpen(String name, int flags, int mode) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            return check((int) Memory.SHM_OPEN.invokeExact(st, a.allocateFrom(name), flags, mode), st, "shm_open " + name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/mman.h> shm_unlink}: removes the name; mappings and descriptors of the object live on. */
    public static void shmUnlink(String name) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            check((int) Memory.SHM_UNLINK.invokeExact(st, a.allocateFrom(name)), st, "shm_unlink " + name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <unistd.h> pipe}, then FD_CLOEXEC on both ends with {@code fcntl} (Darwin has no
     * {@code pipe2}); {read end, write end}. If setting the flag fails, both ends are closed.
     */
    public static int[] pipe() {
        MemorySegment st = state();
        int[] ends;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pair = a.allocate(JAVA_INT, 2);
            check((int) Memory.PIPE.invokeExact(st, pair), st, "pipe");
            ends = pair.toArray(JAVA_INT);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return closeOnExec(ends);
    }

    // ---------------------------------------------------------------- <poll.h>

    private static final class Poll {
        // bsd/sys/poll.h: int poll(struct pollfd *, nfds_t, int) with nfds_t an unsigned int (Linux: unsigned long).
        static final MethodHandle POLL = linkErrno("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    }

    // bsd/sys/poll.h: struct pollfd { int fd; short events; short revents; }: 8 bytes.
    static final long POLLFD_SIZE = 8, POLLFD_EVENTS = 4, POLLFD_REVENTS = 6;

    /** An array of {@code struct pollfd} in {@code a}: {@code fds[i]} waiting for {@code events[i]}. */
    static MemorySegment pollfds(Arena a, int[] fds, int[] events) {
        MemorySegment set = a.allocate(POLLFD_SIZE * Math.max(1, fds.length), 4);
        for (int i = 0; i < fds.length; i++) {
            set.set(JAVA_INT, i * POLLFD_SIZE, fds[i]);
            set.set(JAVA_SHORT, i * POLLFD_SIZE + POLLFD_EVENTS, (short) events[i]);
        }
        return set;
    }

    /**
     * {@code <poll.h> poll} on {@code fds}, each waiting for {@code events}; returns each descriptor's
     * {@code revents} (all zero on timeout). {@code timeoutMillis} -1 waits forever. An interrupted wait
     * (EINTR) returns all zeros, like a timeout.
     */
    public static int[] poll(int[] fds, int events, int timeoutMillis) {
        int[] each = new int[fds.length];
        Arrays.fill(each, events);
        return poll(fds, each, timeoutMillis);
    }

    /**
     * {@link #poll(int[], int, int)} with {@code events[i]} for {@code fds[i]}: 0 waits only for the
     * conditions poll always reports (POLLHUP, POLLERR). Negative descriptors are skipped by poll itself.
     */
    public static int[] poll(int[] fds, int[] events, int timeoutMillis) {
        if (events.length != fds.length) throw new IllegalArgumentException(fds.length + " descriptors, " + events.length + " event masks");
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment set = pollfds(a, fds, events);
            int r = (int) Poll.POLL.invokeExact(st, set, fds.length, timeoutMillis);
            if (r < 0 && errno(st) != DarwinErrno.EINTR) throw fail("poll " + Arrays.toString(fds), errno(st));
            int[] revents = new int[fds.length];
            if (r > 0) {
                for (int i = 0; i < fds.length; i++) {
                    revents[i] = Short.toUnsignedInt(set.get(JAVA_SHORT, i * POLLFD_SIZE + POLLFD_REVENTS));
                }
            }
            return revents;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- <sys/socket.h>, <sys/un.h>

    private static final class Sockets {
        static final MethodHandle SOCKET = linkErrno("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle SOCKETPAIR = linkErrno("socketpair",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle SETSOCKOPT = linkErrno("setsockopt",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle CONNECT = linkErrno("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle BIND = linkErrno("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle LISTEN = linkErrno("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle ACCEPT = linkErrno("accept", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle SEND = linkErrno("send", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        static final MethodHandle SENDMSG = linkErrno("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle RECVMSG = linkErrno("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    }

    /** {@code <sys/socket.h> socket}: a new socket descriptor (without close-on-exec: Darwin has no SOCK_CLOEXEC). */
    public static int socket(int domain, int type, int protocol) {
        MemorySegment st = state();
        try {
            return check((int) Sockets.SOCKET.invokeExact(st, domain, type, protocol), st, "socket");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/socket.h> socketpair}: two connected sockets (without close-on-exec). */
    public static int[] socketpair(int domain, int type, int protocol) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pair = a.allocate(JAVA_INT, 2);
            check((int) Sockets.SOCKETPAIR.invokeExact(st, domain, type, protocol, pair), st, "socketpair");
            return pair.toArray(JAVA_INT);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <sys/socket.h> setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &1, sizeof(int))}: writing to this
     * socket after the peer closed it fails with EPIPE instead of raising SIGPIPE, which would kill the JVM.
     */
    public static void setNoSigPipe(int fd) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocateFrom(JAVA_INT, 1);
            check((int) Sockets.SETSOCKOPT.invokeExact(st, fd, SOL_SOCKET, SO_NOSIGPIPE, one, (int) JAVA_INT.byteSize()), st,
                    "setsockopt SO_NOSIGPIPE fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // bsd/sys/un.h: struct sockaddr_un { unsigned char sun_len; sa_family_t (u8) sun_family; char sun_path[104]; }.
    static final int SUN_PATH_SIZE = 104, SUN_PATH_OFFSET = 2;

    /**
     * A {@code struct sockaddr_un} for {@code path} in {@code a}, sliced to the address length to pass
     * ({@code 2 + strlen(path) + 1}, with the NUL, which is also what {@code sun_len} says: bsd/sys/un.h
     * calls it the "sockaddr len including null"). A path of 104 UTF-8 bytes or more
     * does not fit {@code sun_path} with its NUL and throws {@link SysException} ENAMETOOLONG without any
     * call; a NUL inside the path, which the kernel would cut at, throws {@link IllegalArgumentException}.
     * Darwin has no abstract socket namespace.
     */
    static MemorySegment sockaddrUn(Arena a, String path) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= SUN_PATH_SIZE) {
            throw new SysException("sockaddr_un " + path + " (" + p.length + " bytes; sun_path holds "
                    + (SUN_PATH_SIZE - 1) + " and a NUL)", DarwinErrno.ENAMETOOLONG,
                    DarwinErrno.name(DarwinErrno.ENAMETOOLONG), "File name too long");
        }
        for (byte b : p) {
            if (b == 0) throw new IllegalArgumentException("a Unix socket path with a NUL byte: " + path);
        }
        int length = SUN_PATH_OFFSET + p.length + 1;
        MemorySegment addr = a.allocate(SUN_PATH_OFFSET + SUN_PATH_SIZE, 1); // zeroed: the NUL is there already
        addr.set(JAVA_BYTE, 0, (byte) length);
        addr.set(JAVA_BYTE, 1, (byte) AF_UNIX);
        MemorySegment.copy(p, 0, addr, JAVA_BYTE, SUN_PATH_OFFSET, p.length);
        return addr.asSlice(0, length);
    }

    /** {@code <sys/socket.h> connect} of a Unix socket to {@code path} (see {@link #sockaddrUn} for its limits). */
    public static void connectUnix(int fd, String path) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = sockaddrUn(a, path);
            check((int) Sockets.CONNECT.invokeExact(st, fd, addr, (int) addr.byteSize()), st, "connect fd " + fd + " to " + path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/socket.h> bind} of a Unix socket to {@code path} (see {@link #sockaddrUn} for its limits). */
    public static void bindUnix(int fd, String path) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = sockaddrUn(a, path);
            check((int) Sockets.BIND.invokeExact(st, fd, addr, (int) addr.byteSize()), st, "bind fd " + fd + " to " + path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/socket.h> listen}: makes the bound socket {@code fd} accept connections, {@code backlog} pending at most. */
    public static void listen(int fd, int backlog) {
        MemorySegment st = state();
        try {
            check((int) Sockets.LISTEN.invokeExact(st, fd, backlog), st, "listen on fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <sys/socket.h> accept} without the peer's address, then FD_CLOEXEC on the new descriptor with
     * {@code fcntl} (Darwin has no {@code accept4}); blocks unless polled first. The new socket inherits
     * SO_NOSIGPIPE from the listener ({@code sonewconn} in bsd/kern/uipc_socket2.c copies it); if setting
     * FD_CLOEXEC fails, it is closed.
     */
    public static int accept(int fd) {
        MemorySegment st = state();
        int conn;
        try {
            conn = check((int) Sockets.ACCEPT.invokeExact(st, fd, MemorySegment.NULL, MemorySegment.NULL), st, "accept on fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return closeOnExec(new int[] {conn})[0];
    }

    /**
     * {@code <sys/socket.h> send} of {@code bytes[offset, offset + length)} with {@code flags}; returns the
     * count sent. SIGPIPE is suppressed only if the socket has SO_NOSIGPIPE ({@link #setNoSigPipe}).
     */
    public static int send(int fd, byte[] bytes, int offset, int length, int flags) {
        MemorySegment st = state();
        try {
            MemorySegment buf = scratch(length);
            MemorySegment.copy(bytes, offset, buf, JAVA_BYTE, 0, length);
            return (int) check((long) Sockets.SEND.invokeExact(st, fd, buf, (long) length, flags), st, "send fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // bsd/sys/socket.h, struct msghdr on LP64: void *msg_name @0, socklen_t (u32) msg_namelen @8,
    // struct iovec *msg_iov @16, int msg_iovlen @24, void *msg_control @32, socklen_t msg_controllen @40,
    // int msg_flags @44; sizeof 48. (Linux's iovlen and controllen are size_t: 56 bytes there.)
    static final long MSGHDR_SIZE = 48, MSG_NAME = 0, MSG_NAMELEN = 8, MSG_IOV = 16, MSG_IOVLEN = 24, MSG_CONTROL = 32,
            MSG_CONTROLLEN = 40, MSG_FLAGS = 44;
    // bsd/sys/_types/_iovec_t.h: struct iovec { void *iov_base; size_t iov_len; }: 16 bytes.
    static final long IOVEC_SIZE = 16, IOV_BASE = 0, IOV_LEN = 8;
    // bsd/sys/socket.h, struct cmsghdr: socklen_t cmsg_len @0, int cmsg_level @4, int cmsg_type @8, then the data
    // at CMSG_DATA = __DARWIN_ALIGN32(sizeof(struct cmsghdr)) = 12. __DARWIN_ALIGN32 rounds up to a multiple of
    // sizeof(__uint32_t) = 4 (bsd/arm/_param.h, bsd/i386/_param.h), not to 8 as Linux's CMSG_ALIGN does.
    static final long CMSG_LEN_OFFSET = 0, CMSG_LEVEL = 4, CMSG_TYPE = 8, CMSG_HEADER = 12;

    /**
     * The most descriptors one {@code sendmsg} can pass: xnu's {@code sockargs} (bsd/kern/uipc_syscalls.c)
     * refuses a control buffer that, with each 4-byte descriptor widened to an 8-byte pointer, exceeds
     * MCLBYTES (2048, bsd/arm/param.h and bsd/i386/param.h): (len - 12) * 2 + 12 <= 2048 leaves 254.
     */
    static final int MAX_RIGHTS_PER_MESSAGE = 254;

    /** {@code __DARWIN_ALIGN32(n)}: {@code n} rounded up to a multiple of 4. */
    static long align32(long n) {
        return (n + 3) & ~3L;
    }

    /** {@code CMSG_SPACE(l)}: the bytes a control message with {@code l} data bytes takes, padding included. */
    static long cmsgSpace(long dataBytes) {
        return align32(CMSG_HEADER) + align32(dataBytes);
    }

    /** {@code CMSG_LEN(l)}: the {@code cmsg_len} of a control message with {@code l} data bytes. */
    static long cmsgLen(long dataBytes) {
        return align32(CMSG_HEADER) + dataBytes;
    }

    /** A {@code struct iovec} in {@code a} for the first {@code length} bytes of {@code buffer}. */
    static MemorySegment iovec(Arena a, MemorySegment buffer, long length) {
        MemorySegment iov = a.allocate(IOVEC_SIZE, 8);
        iov.set(ADDRESS, IOV_BASE, buffer);
        iov.set(JAVA_LONG, IOV_LEN, length);
        return iov;
    }

    /**
     * A {@code struct msghdr} in {@code a} without an address: {@code iovCount} iovecs at {@code iov} and
     * {@code controlLength} bytes of control buffer at {@code control} (NULL and 0 for none).
     */
    static MemorySegment msghdr(Arena a, MemorySegment iov, int iovCount, MemorySegment control, int controlLength) {
        MemorySegment msg = a.allocate(MSGHDR_SIZE, 8); // zeroed: msg_name NULL, msg_namelen 0, msg_flags 0
        msg.set(ADDRESS, MSG_IOV, iov);
        msg.set(JAVA_INT, MSG_IOVLEN, iovCount);
        msg.set(ADDRESS, MSG_CONTROL, control);
        msg.set(JAVA_INT, MSG_CONTROLLEN, controlLength);
        return msg;
    }

    /** The {@code msg_controllen} that {@code recvmsg} wrote back: the control bytes it delivered. */
    static long msgControlLength(MemorySegment msg) {
        return Integer.toUnsignedLong(msg.get(JAVA_INT, MSG_CONTROLLEN));
    }

    /** The {@code msg_flags} that {@code recvmsg} wrote back (MSG_CTRUNC among them). */
    static int msgFlags(MemorySegment msg) {
        return msg.get(JAVA_INT, MSG_FLAGS);
    }

    /**
     * One SCM_RIGHTS control message carrying {@code fds}, in {@code a}: {@code CMSG_SPACE(4n)} bytes, which
     * is also its {@code CMSG_LEN(4n)} since 4n needs no padding. It must be: xnu's {@code unp_internalize}
     * (bsd/kern/uipc_usrreq.c) refuses, with EINVAL, a rights message whose {@code cmsg_len} differs from the
     * control length passed to {@code sendmsg}.
     */
    static MemorySegment rightsControl(Arena a, int[] fds) {
        long dataBytes = (long) fds.length * Integer.BYTES;
        MemorySegment control = a.allocate(cmsgSpace(dataBytes), 8);
        control.set(JAVA_INT, CMSG_LEN_OFFSET, (int) cmsgLen(dataBytes));
        control.set(JAVA_INT, CMSG_LEVEL, SOL_SOCKET);
        control.set(JAVA_INT, CMSG_TYPE, SCM_RIGHTS);
        for (int i = 0; i < fds.length; i++) control.set(JAVA_INT, CMSG_HEADER + (long) i * Integer.BYTES, fds[i]);
        return control;
    }

    /**
     * Every SCM_RIGHTS descriptor in the control messages {@code recvmsg} delivered: the first
     * {@code controlLength} bytes of {@code control} (never more than the segment holds). Messages follow
     * one another at {@code __DARWIN_ALIGN32(cmsg_len)} as {@code CMSG_NXTHDR} steps; messages of another
     * level or type are skipped. A {@code cmsg_len} shorter than the header ends the walk.
     *
     * <p>A {@code cmsg_len} that runs past the delivered bytes is a message cut short by MSG_CTRUNC: xnu's
     * {@code copyout_control} (bsd/kern/uipc_syscalls.c) copies as much of it as fits without shrinking its
     * {@code cmsg_len}, and {@code soreceive} (bsd/kern/uipc_socket.c) has already installed all its
     * descriptors in this process. The whole descriptors among the delivered bytes are returned, so that the
     * caller can close them, and the walk ends there.
     */
    static int[] parseRights(MemorySegment control, long controlLength) {
        int[] fds = new int[0];
        long limit = Math.max(0, Math.min(controlLength, control.byteSize()));
        long offset = 0;
        while (offset + CMSG_HEADER <= limit) {
            long len = Integer.toUnsignedLong(control.get(JAVA_INT_UNALIGNED, offset + CMSG_LEN_OFFSET));
            if (len < CMSG_HEADER) break;
            long end = Math.min(offset + len, limit);
            if (control.get(JAVA_INT_UNALIGNED, offset + CMSG_LEVEL) == SOL_SOCKET
                    && control.get(JAVA_INT_UNALIGNED, offset + CMSG_TYPE) == SCM_RIGHTS) {
                int count = (int) ((end - offset - CMSG_HEADER) / Integer.BYTES);
                int base = fds.length;
                fds = Arrays.copyOf(fds, base + count);
                for (int i = 0; i < count; i++) {
                    fds[base + i] = control.get(JAVA_INT_UNALIGNED, offset + CMSG_HEADER + (long) i * Integer.BYTES);
                }
            }
            if (offset + len > limit) break;
            offset += align32(len);
        }
        return fds;
    }

    /**
     * {@code <sys/socket.h> sendmsg} of {@code data} with {@code fds} attached as one SCM_RIGHTS message
     * (none if empty); returns the number of bytes sent. SIGPIPE is suppressed only if the socket has
     * SO_NOSIGPIPE ({@link #setNoSigPipe}).
     */
    public static long sendWithFds(int socket, byte[] data, int[] fds) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
            MemorySegment control = fds.length > 0 ? rightsControl(a, fds) : MemorySegment.NULL;
            MemorySegment msg = msghdr(a, iovec(a, buf, data.length), 1, control, (int) control.byteSize());
            return check((long) Sockets.SENDMSG.invokeExact(st, socket, msg, 0), st,
                    "sendmsg on fd " + socket + " with " + fds.length + " fds");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <sys/socket.h> recvmsg} of up to {@code maxBytes} bytes and up to {@code maxFds} SCM_RIGHTS
     * descriptors, each then made close-on-exec with {@code fcntl} (Darwin has no MSG_CMSG_CLOEXEC). If the
     * peer sent more descriptors than {@code maxFds}, or the kernel truncated the control data
     * (MSG_CTRUNC), every descriptor that arrived is closed and the call fails with EMSGSIZE: a hostile peer
     * cannot leak descriptors into us. Because xnu installs all of a message's descriptors before it finds
     * that they do not fit the buffer, the control buffer is sized for the largest rights message a sender
     * can pass (254 descriptors) whatever {@code maxFds} is, so that it can see,
     * and close, them all.
     */
    public static Received recvWithFds(int socket, int maxBytes, int maxFds) {
        MemorySegment st = state();
        int[] fds;
        byte[] data;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = scratch(maxBytes);
            MemorySegment control = a.allocate(cmsgSpace((long) Math.max(maxFds, MAX_RIGHTS_PER_MESSAGE) * Integer.BYTES), 8);
            MemorySegment msg = msghdr(a, iovec(a, buf, maxBytes), 1, control, (int) control.byteSize());
            long n = check((long) Sockets.RECVMSG.invokeExact(st, socket, msg, 0), st, "recvmsg on fd " + socket);
            fds = parseRights(control, msgControlLength(msg));
            if ((msgFlags(msg) & MSG_CTRUNC) != 0 || fds.length > maxFds) {
                closeAll(fds);
                throw fail("recvmsg on fd " + socket + ": more than " + maxFds + " descriptors"
                        + ((msgFlags(msg) & MSG_CTRUNC) != 0 ? " (control data truncated)" : ""), DarwinErrno.EMSGSIZE);
            }
            data = buf.asSlice(0, n).toArray(JAVA_BYTE);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return new Received(data, closeOnExec(fds));
    }

    // ---------------------------------------------------------------- <unistd.h>

    private static final class Process {
        static final MethodHandle ISATTY = link("isatty", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle GETPID = link("getpid", FunctionDescriptor.of(JAVA_INT));
    }

    /** {@code <unistd.h> isatty}: whether {@code fd} is a terminal. */
    public static boolean isatty(int fd) {
        requireDarwin();
        try {
            return (int) Process.ISATTY.invokeExact(fd) == 1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <unistd.h> getpid}. */
    public static int getpid() {
        requireDarwin();
        try {
            return (int) Process.GETPID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
