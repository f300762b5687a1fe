package org.jvmm.core.sys.linux;

/**
 * Linux error numbers and their symbolic names, per {@code <asm-generic/errno-base.h>} and
 * {@code <asm-generic/errno.h>} (x86-64 and arm64 share these values).
 *
 * <p>Only the names jvmm is likely to meet are listed; others print as {@code errno N}.
 */
public final class Errno {

    private Errno() {}

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENOTTY = 25;
    public static final int ENOSPC = 28;
    public static final int EPIPE = 32;
    public static final int E2BIG = 7;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;

    private static final String[] BASE = {
        null, "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
        "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR",
        "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS",
        "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP",
    };

    /** The symbolic name of {@code errno}, or {@code "errno N"} if this table does not know it. */
    public static String name(int errno) {
        if (errno > 0 && errno < BASE.length) return BASE[errno];
        return switch (errno) {
            case 75 -> "EOVERFLOW";
            case 88 -> "ENOTSOCK";
            case 90 -> "EMSGSIZE";
            case 95 -> "EOPNOTSUPP";
            case 97 -> "EAFNOSUPPORT";
            case 98 -> "EADDRINUSE";
            case 104 -> "ECONNRESET";
            case 107 -> "ENOTCONN";
            case 110 -> "ETIMEDOUT";
            case 111 -> "ECONNREFUSED";
            default -> "errno " + errno;
        };
    }
}
