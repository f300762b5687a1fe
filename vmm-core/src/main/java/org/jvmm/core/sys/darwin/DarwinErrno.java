package org.jvmm.core.sys.darwin;

/**
 * macOS (Darwin) error numbers and their symbolic names, per xnu's {@code bsd/sys/errno.h} (the SDK's
 * {@code <sys/errno.h>}), for user space on LP64, where {@code __DARWIN_UNIX03} always holds.
 *
 * <p>Many numbers differ from Linux's ({@link org.jvmm.core.sys.linux.Errno}): EAGAIN is 35 here and 11
 * there, so portable code compares {@link org.jvmm.core.sys.SysException#errnoName()} rather than numbers.
 * EWOULDBLOCK is EAGAIN and {@link #name} calls 35 "EAGAIN". ENOTSUP (45) and EOPNOTSUPP (102) are distinct
 * numbers under {@code __DARWIN_UNIX03}.
 */
public final class DarwinErrno {

    private DarwinErrno() {}

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int E2BIG = 7;
    public static final int EBADF = 9;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int EMFILE = 24;
    public static final int ENOTTY = 25;
    public static final int ENOSPC = 28;
    public static final int EPIPE = 32;
    public static final int EAGAIN = 35;
    /** The same number as {@link #EAGAIN} ({@code #define EWOULDBLOCK EAGAIN}). */
    public static final int EWOULDBLOCK = EAGAIN;
    public static final int EINPROGRESS = 36;
    public static final int ENOTSOCK = 38;
    public static final int EMSGSIZE = 40;
    public static final int ENOTSUP = 45;
    public static final int EADDRINUSE = 48;
    public static final int ECONNRESET = 54;
    public static final int ENOBUFS = 55;
    public static final int ENOTCONN = 57;
    public static final int ETIMEDOUT = 60;
    public static final int ECONNREFUSED = 61;
    public static final int ELOOP = 62;
    public static final int ENAMETOOLONG = 63;
    public static final int ENOSYS = 78;
    public static final int EOVERFLOW = 84;
    public static final int ECANCELED = 89;
    public static final int EOPNOTSUPP = 102;

    /** Every name from 1 to ELAST (106), in order; {@code NAMES[n - 1]} is the name of {@code n}. */
    private static final String[] NAMES = {
        "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
        "EDEADLK", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR",
        "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS",
        "EMLINK", "EPIPE", "EDOM", "ERANGE", "EAGAIN", "EINPROGRESS", "EALREADY", "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE",
        "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "ENOTSUP", "EPFNOSUPPORT", "EAFNOSUPPORT",
        "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN",
        "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN",
        "ETOOMANYREFS", "ETIMEDOUT",
        "ECONNREFUSED", "ELOOP", "ENAMETOOLONG", "EHOSTDOWN", "EHOSTUNREACH", "ENOTEMPTY", "EPROCLIM", "EUSERS",
        "EDQUOT", "ESTALE",
        "EREMOTE", "EBADRPC", "ERPCMISMATCH", "EPROGUNAVAIL", "EPROGMISMATCH", "EPROCUNAVAIL", "ENOLCK", "ENOSYS",
        "EFTYPE", "EAUTH",
        "ENEEDAUTH", "EPWROFF", "EDEVERR", "EOVERFLOW", "EBADEXEC", "EBADARCH", "ESHLIBVERS", "EBADMACHO",
        "ECANCELED", "EIDRM",
        "ENOMSG", "EILSEQ", "ENOATTR", "EBADMSG", "EMULTIHOP", "ENODATA", "ENOLINK", "ENOSR", "ENOSTR", "EPROTO",
        "ETIME", "EOPNOTSUPP", "ENOPOLICY", "ENOTRECOVERABLE", "EOWNERDEAD", "EQFULL",
    };

    /** The symbolic name of {@code errno} ("EAGAIN" for 35), or {@code "errno N"} if errno.h has no such number. */
    public static String name(int errno) {
        return errno >= 1 && errno <= NAMES.length ? NAMES[errno - 1] : "errno " + errno;
    }
}
