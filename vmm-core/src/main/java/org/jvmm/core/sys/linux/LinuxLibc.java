package org.jvmm.core.sys.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import org.jvmm.core.sys.Received;
import org.jvmm.core.sys.SysException;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The libc calls jvmm makes on Linux, one FFM downcall each (glibc on x86-64 and arm64, LP64).
 *
 * <p>Each method follows the C function of the same name (the header is named on the method); a
 * failing call throws {@link SysException} with the call, an argument summary, {@code strerror} and the
 * errno name. Errno is captured with {@link Linker.Option#captureCallState} because the JVM may call libc
 * itself between the downcall and any later read of {@code errno}.
 *
 * <p>Variadic functions ({@code open}, {@code ioctl}, {@code fcntl}, {@code prctl}) are declared with
 * {@link Linker.Option#firstVariadicArg} so that arguments travel as the C calling convention passes
 * variadic ones; only {@code int}, {@code long} and pointer shapes are declared, since the linker rejects
 * {@code short} and {@code float} as variadic arguments (C promotes them anyway).
 *
 * <p>Downcall handles are linked lazily, per group of related calls, so that a helper process that
 * needs only a few calls does not pay for linking the rest.
 */
public final class LinuxLibc {

    private LinuxLibc() {}

    // <fcntl.h>, <sys/mman.h>, <sys/eventfd.h>, <sys/socket.h>, <poll.h>, <termios.h>: asm-generic values
    // shared by x86-64 and arm64.
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_NONBLOCK = 04000;
    public static final int O_CLOEXEC = 02000000;
    public static final int PROT_NONE = 0;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int PROT_EXEC = 4;
    public static final int MAP_SHARED = 1;
    public static final int MAP_PRIVATE = 2;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MFD_CLOEXEC = 1;
    public static final int MFD_ALLOW_SEALING = 2;
    public static final int EFD_CLOEXEC = O_CLOEXEC;
    public static final int EFD_NONBLOCK = O_NONBLOCK;
    public static final int AF_UNIX = 1;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_SEQPACKET = 5;
    public static final int SOCK_CLOEXEC = O_CLOEXEC;
    public static final int SOL_SOCKET = 1;
    public static final int SCM_RIGHTS = 1;
    public static final int MSG_CTRUNC = 8;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    public static final int POLLIN = 1;
    public static final int POLLOUT = 4;
    public static final int POLLERR = 8;
    public static final int POLLHUP = 0x10;
    public static final int LOCK_SH = 1;
    public static final int LOCK_EX = 2;
    public static final int LOCK_NB = 4;
    public static final int LOCK_UN = 8;
    public static final int F_GETFD = 1;
    public static final int F_SETFD = 2;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int FD_CLOEXEC = 1;
    public static final int TCSANOW = 0;
    public static final int TCSADRAIN = 1;
    public static final int TCSAFLUSH = 2;
    /** {@code <signal.h>}: do not restart interrupted system calls is the absence of this flag. */
    public static final int SA_RESTART = 0x10000000;
    public static final int PR_SET_NAME = 15;
    public static final int PR_SET_NO_NEW_PRIVS = 38;
    public static final int PR_SET_PDEATHSIG = 1;

    /** {@code sizeof(struct termios)} in glibc: the opaque terminal state of {@link #tcgetattr}. */
    public static final int TERMIOS_SIZE = 60;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    /** One errno capture buffer per thread: the hot path (KVM_RUN) must not allocate per call. */
    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    private static MethodHandle link(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /** Links {@code name} with errno capture: the handle takes the capture segment first. */
    private static MethodHandle linkErrno(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = Arrays.copyOf(options, options.length + 1);
        all[options.length] = CAPTURE_ERRNO;
        return link(name, descriptor, all);
    }

    private static MemorySegment state() {
        return STATE.get();
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static SysException fail(String call, int errno) {
        return new SysException(call, errno, Errno.name(errno), strerror(errno));
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

    /** {@code <string.h> strerror}: the system's text for {@code errno}. */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) Str.STRERROR.invokeExact(errno);
            return s.equals(MemorySegment.NULL) ? "errno " + errno : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- <fcntl.h>, <unistd.h>

    private static final class Files {
        static final MethodHandle OPEN = linkErrno("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                Linker.Option.firstVariadicArg(2));
        static final MethodHandle CLOSE = linkErrno("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle READ = linkErrno("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle WRITE = linkErrno("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle PREAD = linkErrno("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle PWRITE = linkErrno("pwrite", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle FDATASYNC = linkErrno("fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle FTRUNCATE = linkErrno("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
        static final MethodHandle FSTAT = linkErrno("fstat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle FALLOCATE = linkErrno("fallocate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
        static final MethodHandle FLOCK = linkErrno("flock", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle FCNTL = linkErrno("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
                Linker.Option.firstVariadicArg(2));
        static final MethodHandle FCNTL_POINTER = linkErrno("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS),
                Linker.Option.firstVariadicArg(2));
    }

    /** {@code <fcntl.h> open}: opens {@code path} with {@code flags} (and {@code mode} for O_CREAT). */
    public static int open(String path, int flags, int mode) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            return check((int) Files.OPEN.invokeExact(st, a.allocateFrom(path), flags, mode), st, "open " + path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <unistd.h> close}. */
    public static void close(int fd) {
        MemorySegment st = state();
        try {
            check((int) Files.CLOSE.invokeExact(st, fd), st, "close fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
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
        MemorySegment buf = scratch(length);
        int n = (int) read(fd, buf);
        MemorySegment.copy(buf, JAVA_BYTE, 0, bytes, offset, n);
        return n;
    }

    // The byte[] overloads go through one native buffer per thread: a fresh one per call is allocated and zeroed,
    // which for a device reading frames into a 64 KiB array was a 64 KiB memset per frame.
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
        MemorySegment buf = scratch(length);
        MemorySegment.copy(bytes, offset, buf, JAVA_BYTE, 0, length);
        return (int) write(fd, buf);
    }

    /** {@code <unistd.h> pread}: reads into {@code buffer} at file {@code offset}. */
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
     * {@code <unistd.h> fdatasync}: makes the data written through {@code fd} durable, with the metadata
     * needed to read it back (the size) but not the rest (timestamps).
     */
    public static void fdatasync(int fd) {
        MemorySegment st = state();
        try {
            check((int) Files.FDATASYNC.invokeExact(st, fd), st, "fdatasync fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <unistd.h> ftruncate}: sets the size of {@code fd} to {@code length} bytes. */
    public static void ftruncate(int fd, long length) {
        MemorySegment st = state();
        try {
            check((int) Files.FTRUNCATE.invokeExact(st, fd, length), st, "ftruncate fd " + fd + " to " + length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // struct stat: st_size lies at offset 48 on both x86-64 and the generic layout arm64 uses; 144 bytes
    // covers the larger of the two (x86-64).
    private static final int STAT_SIZE = 144, STAT_ST_SIZE = 48;

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
            return stat.get(JAVA_LONG, STAT_ST_SIZE);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <linux/falloc.h>}: keep the file size; deallocate the range (with KEEP_SIZE only). */
    public static final int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;

    /** {@code <fcntl.h> fallocate}: allocates or, with FALLOC_FL_PUNCH_HOLE, deallocates {@code [offset, offset + length)}. */
    public static void fallocate(int fd, int mode, long offset, long length) {
        MemorySegment st = state();
        try {
            check((int) Files.FALLOCATE.invokeExact(st, fd, mode, offset, length), st,
                    "fallocate fd " + fd + " mode " + mode + " at " + offset + "+" + length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/file.h> flock}: {@code operation} is LOCK_SH, LOCK_EX or LOCK_UN, optionally | LOCK_NB. */
    public static void flock(int fd, int operation) {
        MemorySegment st = state();
        try {
            check((int) Files.FLOCK.invokeExact(st, fd, operation), st, "flock fd " + fd + " op " + operation);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <fcntl.h> fcntl} with an integer argument (F_GETFL, F_SETFL, F_GETFD, F_SETFD). */
    public static int fcntl(int fd, int cmd, int arg) {
        MemorySegment st = state();
        try {
            return check((int) Files.FCNTL.invokeExact(st, fd, cmd, arg), st, "fcntl fd " + fd + " cmd " + cmd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <bits/fcntl-linux.h>}: open file description locks, which belong to the open file (the
     * descriptor and its dups) rather than to the process, so closing another descriptor of the same file
     * does not drop them and two opens in one process conflict as two processes would.
     */
    public static final int F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38;
    /** {@code <bits/fcntl-linux.h>}: {@code struct flock}'s {@code l_type}: shared, exclusive, unlock. */
    public static final int F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
    /** {@code <unistd.h>}: {@code l_whence} relative to the start of the file. */
    public static final int SEEK_SET = 0;

    // struct flock in glibc's LP64 layout (x86-64 and arm64): short l_type @0, short l_whence @2,
    // off_t l_start @8, off_t l_len @16, pid_t l_pid @24; 32 bytes with the tail padding.
    private static final int FLOCK_SIZE = 32, FLOCK_TYPE = 0, FLOCK_WHENCE = 2, FLOCK_START = 8, FLOCK_LEN = 16, FLOCK_PID = 24;

    /**
     * {@code <fcntl.h> fcntl} with a {@code struct flock}: sets a lock of {@code type} (F_RDLCK, F_WRLCK,
     * F_UNLCK) on {@code [start, start + length)} from the start of the file ({@code length} 0 = to the end,
     * however far the file grows). Meant for the OFD commands (F_OFD_SETLK, F_OFD_SETLKW), whose
     * {@code l_pid} must be 0. A conflicting lock fails F_OFD_SETLK with EAGAIN (or EACCES, which POSIX
     * also allows).
     */
    public static void fcntlLock(int fd, int cmd, int type, long start, long length) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment flock = a.allocate(FLOCK_SIZE, 8);
            flock.set(JAVA_SHORT, FLOCK_TYPE, (short) type);
            flock.set(JAVA_SHORT, FLOCK_WHENCE, (short) SEEK_SET);
            flock.set(JAVA_LONG, FLOCK_START, start);
            flock.set(JAVA_LONG, FLOCK_LEN, length);
            flock.set(JAVA_INT, FLOCK_PID, 0);
            check((int) Files.FCNTL_POINTER.invokeExact(st, fd, cmd, flock), st,
                    "fcntl fd " + fd + " cmd " + cmd + " lock type " + type);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- <sys/ioctl.h>

    private static final class Ioctl {
        static final MethodHandle WITH_LONG = linkErrno("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
        static final MethodHandle WITH_POINTER = linkErrno("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    }

    /**
     * {@code <sys/ioctl.h> ioctl} with an integer argument (or none: pass 0); returns the non-negative result.
     *
     * @param name the request's name for the error message, such as {@code "KVM_CREATE_VM"}
     */
    public static int ioctl(int fd, String name, long request, long arg) {
        MemorySegment st = state();
        try {
            return check((int) Ioctl.WITH_LONG.invokeExact(st, fd, request, arg), st, "ioctl " + name + " on fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/ioctl.h> ioctl} with a pointer argument; returns the non-negative result. */
    public static int ioctl(int fd, String name, long request, MemorySegment arg) {
        MemorySegment st = state();
        try {
            return check((int) Ioctl.WITH_POINTER.invokeExact(st, fd, request, arg), st, "ioctl " + name + " on fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code ioctl} with an integer argument that reports failure as {@code -errno} instead of throwing:
     * for the vCPU run path, where EINTR is an expected answer and not an error.
     */
    public static int ioctlOrErrno(int fd, long request, long arg) {
        MemorySegment st = state();
        try {
            int r = (int) Ioctl.WITH_LONG.invokeExact(st, fd, request, arg);
            return r < 0 ? -errno(st) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The {@link SysException} for an {@code ioctl} that {@link #ioctlOrErrno} reported as {@code -errno}. */
    public static SysException ioctlFailure(int fd, String name, int errno) {
        return fail("ioctl " + name + " on fd " + fd, errno);
    }

    // ---------------------------------------------------------------- <sys/mman.h>, <sys/eventfd.h>

    private static final class Memory {
        static final MethodHandle MMAP = linkErrno("mmap",
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        static final MethodHandle MUNMAP = linkErrno("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle MPROTECT = linkErrno("mprotect", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        static final MethodHandle MEMFD_CREATE = linkErrno("memfd_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle EVENTFD = linkErrno("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle PIPE2 = linkErrno("pipe2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    }

    /**
     * {@code <sys/mman.h> mmap}: maps {@code length} bytes of {@code fd} at {@code offset} (fd -1 with
     * MAP_ANONYMOUS) and returns a segment of that size. The caller unmaps it with {@link #munmap}.
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

    /** {@code <sys/mman.h> mprotect}: changes the protection of a mapping. */
    public static void mprotect(MemorySegment mapping, int prot) {
        MemorySegment st = state();
        try {
            check((int) Memory.MPROTECT.invokeExact(st, mapping, mapping.byteSize(), prot), st,
                    "mprotect 0x" + Long.toHexString(mapping.address()) + " to " + prot);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/mman.h> memfd_create}: an anonymous file called {@code name} (for /proc only). */
    public static int memfdCreate(String name, int flags) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            return check((int) Memory.MEMFD_CREATE.invokeExact(st, a.allocateFrom(name), flags), st, "memfd_create " + name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <unistd.h> pipe2}: a pipe with {@code flags} (O_CLOEXEC, O_NONBLOCK) on both ends; {read end, write end}. */
    public static int[] pipe2(int flags) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ends = a.allocate(JAVA_INT, 2);
            check((int) Memory.PIPE2.invokeExact(st, ends, flags), st, "pipe2");
            return ends.toArray(JAVA_INT);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/eventfd.h> eventfd}. */
    public static int eventfd(int initialValue, int flags) {
        MemorySegment st = state();
        try {
            return check((int) Memory.EVENTFD.invokeExact(st, initialValue, flags), st, "eventfd");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- <poll.h>

    private static final class Poll {
        static final MethodHandle POLL = linkErrno("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    }

    /** {@code struct pollfd}: {@code int fd; short events; short revents;}. */
    private static final StructLayout POLLFD = MemoryLayout.structLayout(JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"), JAVA_SHORT.withName("revents"));

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
     * conditions poll always reports (POLLHUP, POLLERR), such as a peer hanging up a socket whose data
     * another thread reads.
     */
    public static int[] poll(int[] fds, int[] events, int timeoutMillis) {
        if (events.length != fds.length) throw new IllegalArgumentException(fds.length + " descriptors, " + events.length + " event masks");
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment set = a.allocate(POLLFD, fds.length);
            for (int i = 0; i < fds.length; i++) {
                set.set(JAVA_INT, i * 8L, fds[i]);
                set.set(JAVA_SHORT, i * 8L + 4, (short) events[i]);
            }
            int r = (int) Poll.POLL.invokeExact(st, set, (long) fds.length, timeoutMillis);
            if (r < 0 && errno(st) != Errno.EINTR) throw fail("poll " + Arrays.toString(fds), errno(st));
            int[] revents = new int[fds.length];
            if (r > 0) {
                for (int i = 0; i < fds.length; i++) revents[i] = Short.toUnsignedInt(set.get(JAVA_SHORT, i * 8L + 6));
            }
            return revents;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- <sys/socket.h>

    private static final class Sockets {
        static final MethodHandle SOCKETPAIR = linkErrno("socketpair",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle SENDMSG = linkErrno("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle RECVMSG = linkErrno("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle SOCKET = linkErrno("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle CONNECT = linkErrno("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle BIND = linkErrno("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle SEND = linkErrno("send", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        static final MethodHandle LISTEN = linkErrno("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle ACCEPT4 = linkErrno("accept4", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    }

    /** {@code <sys/un.h>}: sizeof(sun_path), including the terminating NUL. */
    private static final int SUN_PATH_SIZE = 108;

    /** {@code <sys/socket.h> socket}: a new socket descriptor. */
    public static int socket(int domain, int type, int protocol) {
        MemorySegment st = state();
        try {
            return check((int) Sockets.SOCKET.invokeExact(st, domain, type, protocol), st, "socket");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * A {@code struct sockaddr_un} for {@code path} in {@code a}, and its length; an empty path gives just
     * the family, which {@code bind} takes as "autobind to a fresh abstract address" (unix(7)).
     */
    private static MemorySegment sockaddrUn(Arena a, String path) {
        byte[] p = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (p.length >= SUN_PATH_SIZE) {
            throw fail("sockaddr_un " + path + " (longer than " + (SUN_PATH_SIZE - 1) + " bytes)", 36 /* ENAMETOOLONG */);
        }
        MemorySegment addr = a.allocate(2 + p.length + (p.length == 0 ? 0 : 1));
        addr.set(JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(p, 0, addr, JAVA_BYTE, 2, p.length);
        return addr;
    }

    /** {@code <sys/socket.h> connect} of a Unix socket to {@code path}. */
    public static void connectUnix(int fd, String path) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = sockaddrUn(a, path);
            check((int) Sockets.CONNECT.invokeExact(st, fd, addr, (int) addr.byteSize()), st, "connect fd " + fd + " to " + path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/socket.h> bind} of a Unix socket to {@code path}, or to a fresh abstract address if it is empty. */
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
     * {@code <sys/socket.h> accept4} without the peer's address: the next connection on the listening
     * socket {@code fd} as a new descriptor with {@code flags} (SOCK_CLOEXEC); blocks unless polled first.
     */
    public static int accept(int fd, int flags) {
        MemorySegment st = state();
        try {
            return check((int) Sockets.ACCEPT4.invokeExact(st, fd, MemorySegment.NULL, MemorySegment.NULL, flags), st,
                    "accept on fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/socket.h> send} of {@code bytes[offset, offset + length)} with {@code flags}; returns the count sent. */
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

    // struct msghdr (LP64): name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48; size 56.
    private static final long MSGHDR_SIZE = 56;
    // struct cmsghdr (LP64): size_t len 0, int level 8, int type 12, data 16.
    private static final long CMSG_HEADER = 16;

    /** {@code <sys/socket.h> socketpair}: two connected sockets. */
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

    private static long cmsgSpace(int fdCount) {
        return CMSG_HEADER + ((fdCount * 4L + 7) & ~7L);
    }

    /**
     * {@code <sys/socket.h> sendmsg} of {@code data} with {@code fds} attached as SCM_RIGHTS (none if empty);
     * returns the number of bytes sent. Never raises SIGPIPE (MSG_NOSIGNAL).
     */
    public static long sendWithFds(int socket, byte[] data, int[] fds) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
            MemorySegment iov = a.allocate(16, 8);
            iov.set(ADDRESS, 0, buf);
            iov.set(JAVA_LONG, 8, data.length);
            MemorySegment msg = a.allocate(MSGHDR_SIZE, 8);
            msg.set(ADDRESS, 16, iov);
            msg.set(JAVA_LONG, 24, 1);
            if (fds.length > 0) {
                MemorySegment control = a.allocate(cmsgSpace(fds.length), 8);
                control.set(JAVA_LONG, 0, CMSG_HEADER + fds.length * 4L);
                control.set(JAVA_INT, 8, SOL_SOCKET);
                control.set(JAVA_INT, 12, SCM_RIGHTS);
                for (int i = 0; i < fds.length; i++) control.set(JAVA_INT, CMSG_HEADER + i * 4L, fds[i]);
                msg.set(ADDRESS, 32, control);
                msg.set(JAVA_LONG, 40, control.byteSize());
            }
            return check((long) Sockets.SENDMSG.invokeExact(st, socket, msg, MSG_NOSIGNAL), st,
                    "sendmsg on fd " + socket + " with " + fds.length + " fds");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <sys/socket.h> recvmsg} of up to {@code maxBytes} bytes and up to {@code maxFds} SCM_RIGHTS
     * descriptors (received close-on-exec). If the peer sent more descriptors than fit, the ones that
     * arrived are closed and the call fails with EMSGSIZE: a hostile peer cannot leak descriptors into us.
     */
    public static Received recvWithFds(int socket, int maxBytes, int maxFds) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, maxBytes));
            MemorySegment iov = a.allocate(16, 8);
            iov.set(ADDRESS, 0, buf);
            iov.set(JAVA_LONG, 8, maxBytes);
            MemorySegment control = a.allocate(cmsgSpace(Math.max(1, maxFds)), 8);
            MemorySegment msg = a.allocate(MSGHDR_SIZE, 8);
            msg.set(ADDRESS, 16, iov);
            msg.set(JAVA_LONG, 24, 1);
            msg.set(ADDRESS, 32, control);
            msg.set(JAVA_LONG, 40, control.byteSize());
            long n = check((long) Sockets.RECVMSG.invokeExact(st, socket, msg, MSG_CMSG_CLOEXEC), st,
                    "recvmsg on fd " + socket);
            int[] fds = parseRights(control, msg.get(JAVA_LONG, 40));
            if ((msg.get(JAVA_INT, 48) & MSG_CTRUNC) != 0 || fds.length > maxFds) {
                for (int fd : fds) close(fd);
                throw fail("recvmsg on fd " + socket + ": more than " + maxFds + " descriptors", 90 /* EMSGSIZE */);
            }
            return new Received(buf.asSlice(0, n).toArray(JAVA_BYTE), fds);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Walks the control messages the kernel wrote and collects every SCM_RIGHTS descriptor. */
    private static int[] parseRights(MemorySegment control, long controlLength) {
        int[] fds = new int[0];
        long offset = 0;
        long limit = Math.min(controlLength, control.byteSize());
        while (offset + CMSG_HEADER <= limit) {
            long len = control.get(JAVA_LONG, offset);
            if (len < CMSG_HEADER || offset + len > limit) break;
            if (control.get(JAVA_INT, offset + 8) == SOL_SOCKET && control.get(JAVA_INT, offset + 12) == SCM_RIGHTS) {
                int count = (int) ((len - CMSG_HEADER) / 4);
                int base = fds.length;
                fds = Arrays.copyOf(fds, base + count);
                for (int i = 0; i < count; i++) fds[base + i] = control.get(JAVA_INT, offset + CMSG_HEADER + i * 4L);
            }
            offset += (len + 7) & ~7L;
        }
        return fds;
    }

    // ---------------------------------------------------------------- <pthread.h>, <signal.h>

    private static final class Signals {
        static final MethodHandle PTHREAD_SELF = link("pthread_self", FunctionDescriptor.of(JAVA_LONG));
        static final MethodHandle PTHREAD_KILL = link("pthread_kill", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
        static final MethodHandle SIGACTION = linkErrno("sigaction", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle SIGRTMIN = link("__libc_current_sigrtmin", FunctionDescriptor.of(JAVA_INT));
    }

    // glibc's struct sigaction (x86-64 and arm64): handler 0, sigset_t mask 8 (128 bytes), int flags 136,
    // restorer 144; size 152. glibc's sigaction() fills in the restorer itself.
    private static final long SIGACTION_SIZE = 152;
    private static final long SA_FLAGS_OFFSET = 136;

    /** {@code <pthread.h> pthread_self}: the calling thread's handle, for {@link #pthreadKill}. */
    public static long pthreadSelf() {
        try {
            return (long) Signals.PTHREAD_SELF.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <signal.h> pthread_kill}: sends {@code signal} to the thread {@code thread}. */
    public static void pthreadKill(long thread, int signal) {
        try {
            int r = (int) Signals.PTHREAD_KILL.invokeExact(thread, signal);
            if (r != 0) throw fail("pthread_kill signal " + signal, r); // returns the error number itself
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code SIGRTMIN} as glibc defines it at run time (it reserves the first real-time signals for itself). */
    public static int sigrtmin() {
        try {
            return (int) Signals.SIGRTMIN.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code <signal.h> sigaction}: installs {@code handler} (a native function address, or
     * {@code MemorySegment.ofAddress(0)} for SIG_DFL) for {@code signal} with an empty mask and
     * {@code flags}; returns the address of the handler it replaced.
     */
    public static long sigaction(int signal, MemorySegment handler, int flags) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment act = a.allocate(SIGACTION_SIZE, 8);
            act.set(ADDRESS, 0, handler);
            act.set(JAVA_INT, SA_FLAGS_OFFSET, flags);
            MemorySegment old = a.allocate(SIGACTION_SIZE, 8);
            check((int) Signals.SIGACTION.invokeExact(st, signal, act, old), st, "sigaction signal " + signal);
            return old.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The address of the handler installed for {@code signal} now (0: SIG_DFL, 1: SIG_IGN). */
    public static long currentSignalHandler(int signal) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment old = a.allocate(SIGACTION_SIZE, 8);
            check((int) Signals.SIGACTION.invokeExact(st, signal, MemorySegment.NULL, old), st, "sigaction signal " + signal);
            return old.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- <termios.h>, <unistd.h>

    private static final class Terminal {
        static final MethodHandle ISATTY = link("isatty", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle TCGETATTR = linkErrno("tcgetattr", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle TCSETATTR = linkErrno("tcsetattr", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle CFMAKERAW = link("cfmakeraw", FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** {@code <unistd.h> isatty}: whether {@code fd} is a terminal. */
    public static boolean isatty(int fd) {
        try {
            return (int) Terminal.ISATTY.invokeExact(fd) == 1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <termios.h> tcgetattr}: the terminal's state as an opaque {@code struct termios} ({@link #TERMIOS_SIZE} bytes). */
    public static byte[] tcgetattr(int fd) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = a.allocate(TERMIOS_SIZE, 4);
            check((int) Terminal.TCGETATTR.invokeExact(st, fd, t), st, "tcgetattr fd " + fd);
            return t.toArray(JAVA_BYTE);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <termios.h> tcsetattr}: applies a state from {@link #tcgetattr} or {@link #cfmakeraw}; {@code when} is TCSANOW etc. */
    public static void tcsetattr(int fd, int when, byte[] termios) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = a.allocate(TERMIOS_SIZE, 4);
            MemorySegment.copy(termios, 0, t, JAVA_BYTE, 0, TERMIOS_SIZE);
            check((int) Terminal.TCSETATTR.invokeExact(st, fd, when, t), st, "tcsetattr fd " + fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <termios.h> cfmakeraw}: a copy of {@code termios} changed to raw mode (the argument is unchanged). */
    public static byte[] cfmakeraw(byte[] termios) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = a.allocate(TERMIOS_SIZE, 4);
            MemorySegment.copy(termios, 0, t, JAVA_BYTE, 0, TERMIOS_SIZE);
            Terminal.CFMAKERAW.invokeExact(t);
            return t.toArray(JAVA_BYTE);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- <unistd.h>, <sys/prctl.h>

    /** {@code <time.h>} clocks: monotonic wall time, and the calling thread's CPU time (user + system). */
    public static final int CLOCK_MONOTONIC = 1, CLOCK_THREAD_CPUTIME_ID = 3;

    private static final class Clock {
        static final MethodHandle CLOCK_GETTIME = linkErrno("clock_gettime", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    }

    /** {@code <time.h> clock_gettime} of {@code clock}, in nanoseconds. */
    public static long clockGettime(int clock) {
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ts = a.allocate(16, 8); // struct timespec { time_t tv_sec; long tv_nsec; } (LP64)
            check((int) Clock.CLOCK_GETTIME.invokeExact(st, clock, ts), st, "clock_gettime " + clock);
            return ts.get(JAVA_LONG, 0) * 1_000_000_000L + ts.get(JAVA_LONG, 8);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Process {
        static final MethodHandle GETPID = link("getpid", FunctionDescriptor.of(JAVA_INT));
        static final MethodHandle PRCTL = linkErrno("prctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    /** {@code <unistd.h> getpid}. */
    public static int getpid() {
        try {
            return (int) Process.GETPID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code <sys/prctl.h> prctl} with four integer arguments (pass 0 for unused ones). */
    public static int prctl(int option, long arg2, long arg3, long arg4, long arg5) {
        MemorySegment st = state();
        try {
            return check((int) Process.PRCTL.invokeExact(st, option, arg2, arg3, arg4, arg5), st, "prctl option " + option);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- <linux/seccomp.h>, <linux/filter.h>

    /** {@code <linux/seccomp.h>}: the {@code seccomp(2)} operation that installs a classic-BPF filter. */
    public static final int SECCOMP_SET_MODE_FILTER = 1;
    /** {@code <linux/seccomp.h>}: install the filter on every thread of the process, not just the caller. */
    public static final int SECCOMP_FILTER_FLAG_TSYNC = 1;
    /** {@code <linux/seccomp.h>}: return a listener descriptor for {@code SECCOMP_RET_USER_NOTIF}. */
    public static final int SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
    /**
     * {@code <linux/seccomp.h>}: TSYNC reports a thread it could not synchronise as ESRCH; required to
     * combine TSYNC with NEW_LISTENER, since both would otherwise use the positive return value.
     */
    public static final int SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 16;
    /** {@code <linux/seccomp.h>}: a notification response that lets the syscall run as if allowed. */
    public static final int SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;
    /** {@code <linux/seccomp.h>}: {@code _IOWR('!', 0, struct seccomp_notif)}, sizeof 80. */
    public static final long SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100L;
    /** {@code <linux/seccomp.h>}: {@code _IOWR('!', 1, struct seccomp_notif_resp)}, sizeof 24. */
    public static final long SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101L;

    // struct seccomp_notif: u64 id @0, u32 pid @8, u32 flags @12, struct seccomp_data @16 (int nr @16,
    // u32 arch @20, u64 instruction_pointer @24, u64 args[6] @32); 80 bytes.
    private static final int NOTIF_SIZE = 80, NOTIF_ID = 0, NOTIF_PID = 8, NOTIF_NR = 16, NOTIF_ARCH = 20, NOTIF_ARGS = 32;
    // struct seccomp_notif_resp: u64 id @0, s64 val @8, s32 error @16, u32 flags @20; 24 bytes.
    private static final int RESP_SIZE = 24, RESP_ID = 0, RESP_VAL = 8, RESP_ERROR = 16, RESP_FLAGS = 20;
    // struct sock_fprog: unsigned short len @0, struct sock_filter *filter @8; 16 bytes on LP64.
    private static final int FPROG_SIZE = 16, FPROG_LEN = 0, FPROG_FILTER = 8;
    /** {@code <linux/filter.h>}: sizeof(struct sock_filter): u16 code, u8 jt, u8 jf, u32 k. */
    public static final int SOCK_FILTER_SIZE = 8;

    private static final class Seccomp {
        // glibc 2.36 has no seccomp() wrapper: the generic syscall(2) entry, variadic after the number.
        static final MethodHandle SYSCALL = linkErrno("syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS),
                Linker.Option.firstVariadicArg(1));
        /** The seccomp syscall's number: arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h. */
        static final long NR_SECCOMP = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> 317;
            case "aarch64" -> 277;
            default -> -1;
        };
    }

    /**
     * {@code <linux/seccomp.h> seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)}: installs the classic-BPF
     * program {@code filter} (whole {@code struct sock_filter}s, {@link #SOCK_FILTER_SIZE} bytes each, in
     * native byte order) on the calling thread, or on all threads with {@link #SECCOMP_FILTER_FLAG_TSYNC}.
     * The caller must have set {@link #PR_SET_NO_NEW_PRIVS} (or hold CAP_SYS_ADMIN). Returns 0, or the
     * listener descriptor with {@link #SECCOMP_FILTER_FLAG_NEW_LISTENER}.
     */
    public static int seccompSetModeFilter(int flags, MemorySegment filter) {
        if (Seccomp.NR_SECCOMP < 0) throw new UnsupportedOperationException("seccomp on " + System.getProperty("os.arch"));
        long count = filter.byteSize() / SOCK_FILTER_SIZE;
        if (count == 0 || count > 0xFFFF || filter.byteSize() % SOCK_FILTER_SIZE != 0) {
            throw new IllegalArgumentException("a BPF program of " + filter.byteSize() + " bytes");
        }
        MemorySegment st = state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(FPROG_SIZE, 8);
            prog.set(JAVA_SHORT, FPROG_LEN, (short) count);
            prog.set(ADDRESS, FPROG_FILTER, filter);
            return (int) check((long) Seccomp.SYSCALL.invokeExact(st, Seccomp.NR_SECCOMP, SECCOMP_SET_MODE_FILTER, flags, prog),
                    st, "seccomp SET_MODE_FILTER flags " + flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * One {@code struct seccomp_notif}: the filtered thread {@code pid} (in the receiver's pid namespace)
     * stopped in syscall {@code nr} of audit architecture {@code arch} until {@link #seccompNotifySend}
     * answers notification {@code id}.
     */
    public record SeccompNotification(long id, int pid, int nr, int arch, long[] args) {}

    /**
     * {@code SECCOMP_IOCTL_NOTIF_RECV} on a listener descriptor: blocks until a filtered syscall waits
     * (poll the descriptor first to avoid blocking). Throws {@link SysException} with ENOENT if the
     * waiting thread went away before the notification was read.
     */
    public static SeccompNotification seccompNotifyReceive(int listener) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(NOTIF_SIZE, 8);   // zeroed, as the kernel requires
            ioctl(listener, "SECCOMP_IOCTL_NOTIF_RECV", SECCOMP_IOCTL_NOTIF_RECV, n);
            long[] args = new long[6];
            for (int i = 0; i < 6; i++) args[i] = n.get(JAVA_LONG, NOTIF_ARGS + 8L * i);
            return new SeccompNotification(n.get(JAVA_LONG, NOTIF_ID), n.get(JAVA_INT, NOTIF_PID),
                    n.get(JAVA_INT, NOTIF_NR), n.get(JAVA_INT, NOTIF_ARCH), args);
        }
    }

    /**
     * {@code SECCOMP_IOCTL_NOTIF_SEND}: answers notification {@code id}, either failing the syscall with
     * {@code errno} (positive) or, with {@link #SECCOMP_USER_NOTIF_FLAG_CONTINUE} in {@code flags} and errno
     * 0, letting the kernel run it. Throws {@link SysException} with ENOENT if the thread went away.
     */
    public static void seccompNotifySend(int listener, long id, int errno, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(RESP_SIZE, 8);
            r.set(JAVA_LONG, RESP_ID, id);
            r.set(JAVA_LONG, RESP_VAL, 0);
            r.set(JAVA_INT, RESP_ERROR, -errno);
            r.set(JAVA_INT, RESP_FLAGS, flags);
            ioctl(listener, "SECCOMP_IOCTL_NOTIF_SEND", SECCOMP_IOCTL_NOTIF_SEND, r);
        }
    }
}
