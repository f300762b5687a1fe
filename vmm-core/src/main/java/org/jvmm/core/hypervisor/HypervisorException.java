package org.jvmm.core.hypervisor;

/** A hypervisor call failed; the message names the call and the system's reason. */
public class HypervisorException extends RuntimeException {
    public HypervisorException(String message) { super(message); }
    public HypervisorException(String message, Throwable cause) { super(message, cause); }
}
