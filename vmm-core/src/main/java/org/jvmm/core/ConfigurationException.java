package org.jvmm.core;

/**
 * A problem the user can fix: a missing {@code /dev/kvm}, a file that is not a kernel, a memory size
 * that makes no sense. The message is one sentence that says what is wrong and what to do; the
 * command line prints it without a stack trace and exits with status 2.
 */
public class ConfigurationException extends RuntimeException {
    public ConfigurationException(String message) { super(message); }
    public ConfigurationException(String message, Throwable cause) { super(message, cause); }
}
