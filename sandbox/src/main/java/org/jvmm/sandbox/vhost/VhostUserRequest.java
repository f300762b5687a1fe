package org.jvmm.sandbox.vhost;

import java.util.Optional;

/**
 * The front-end requests this back-end understands, with their codes from QEMU's
 * docs/interop/vhost-user.rst ("Front-end message types"). A code not listed here is answered by closing
 * the connection: a request we cannot parse has a payload we cannot check.
 */
public enum VhostUserRequest {
    GET_FEATURES(1),
    SET_FEATURES(2),
    SET_OWNER(3),
    RESET_OWNER(4),
    SET_MEM_TABLE(5),
    SET_VRING_NUM(8),
    SET_VRING_ADDR(9),
    SET_VRING_BASE(10),
    GET_VRING_BASE(11),
    SET_VRING_KICK(12),
    SET_VRING_CALL(13),
    SET_VRING_ERR(14),
    GET_PROTOCOL_FEATURES(15),
    SET_PROTOCOL_FEATURES(16),
    GET_QUEUE_NUM(17),
    SET_VRING_ENABLE(18),
    GET_CONFIG(24),
    SET_CONFIG(25),
    RESET_DEVICE(34);

    private static final VhostUserRequest[] BY_CODE = new VhostUserRequest[35];

    static {
        for (VhostUserRequest r : values()) BY_CODE[r.code] = r;
    }

    private final int code;

    VhostUserRequest(int code) {
        this.code = code;
    }

    /** The request's number on the wire. */
    public int code() {
        return code;
    }

    /** The request with wire number {@code code} (an unsigned 32-bit value), if this back-end knows it. */
    public static Optional<VhostUserRequest> of(long code) {
        return code >= 0 && code < BY_CODE.length ? Optional.ofNullable(BY_CODE[(int) code]) : Optional.empty();
    }
}
