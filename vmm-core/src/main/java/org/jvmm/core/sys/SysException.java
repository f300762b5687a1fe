package org.jvmm.core.sys;

/**
 * A system call failed. The message names the call, what it was called on, the system's text for the
 * error and its symbolic name, for example {@code open /dev/kvm: Permission denied (EACCES)};
 * {@link #errno()} gives the number for code that reacts to particular errors.
 */
public class SysException extends RuntimeException {

    private final int errno;
    private final String errnoName;

    /**
     * @param call      the call and a summary of its arguments, such as {@code "open /dev/kvm"}
     * @param errno     the error number
     * @param errnoName its symbolic name ({@code "EACCES"}), or a number in text when unknown
     * @param strerror  the system's description of the error
     */
    public SysException(String call, int errno, String errnoName, String strerror) {
        super(call + ": " + strerror + " (" + errnoName + ")");
        this.errno = errno;
        this.errnoName = errnoName;
    }

    /** The error number ({@code errno}) the call failed with. */
    public int errno() {
        return errno;
    }

    /** The symbolic name of {@link #errno()}, such as {@code "EINTR"}. */
    public String errnoName() {
        return errnoName;
    }
}
