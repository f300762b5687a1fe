package org.jvmm.sandbox.vhost;

/**
 * The peer broke the vhost-user protocol (a malformed, oversized or out-of-order message, or descriptors
 * that do not match it). The only exception the codec and the back-end raise for peer input; the
 * connection is closed after it.
 */
public final class VhostUserProtocolException extends Exception {

    /** A violation described by {@code message}, which names the request and the offending field. */
    public VhostUserProtocolException(String message) {
        super(message);
    }
}
