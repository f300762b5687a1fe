package org.jvmm.sandbox.frontend;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.jvmm.sandbox.vhost.VhostUserCodec;
import org.jvmm.sandbox.vhost.VhostUserPayload;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;
import org.jvmm.sandbox.vhost.VhostUserProtocolException;
import org.jvmm.sandbox.vhost.VhostUserRequest;

/**
 * Reads a back-end's reply to one front-end request (vhost-user.rst, "Message Specification"), from the
 * front-end's side: the back-end is as untrusted as a guest, so the header must name exactly the request
 * that was sent, carry version 1 with the REPLY flag and nothing else, and announce exactly the payload
 * size that request's reply has, before any payload byte is read. No reply of ours carries descriptors:
 * one that does is a violation (the descriptors are closed). Every violation is a
 * {@link VhostUserProtocolException}; nothing else escapes for any input.
 */
public final class VhostUserReplies {

    private VhostUserReplies() {}

    /** The source of a reply's bytes: the socket in production, a byte array in tests. */
    @FunctionalInterface
    public interface Source {
        /**
         * Reads exactly {@code buffer.length} bytes, or throws if the peer closed, timed out, or attached
         * descriptors (which the source has closed).
         */
        void readFully(byte[] buffer) throws VhostUserProtocolException;
    }

    /**
     * Reads and validates the reply to {@code request}.
     *
     * @param request    the request that was sent
     * @param configSize for GET_CONFIG, the window size that was asked for (ignored otherwise)
     * @param ack        true if the reply is a REPLY_ACK status rather than the request's own reply
     * @return a {@link U64} (features, queue count or ack status), a {@link VringState} (GET_VRING_BASE)
     *         or a {@link Config} (GET_CONFIG)
     */
    public static VhostUserPayload read(Source source, VhostUserRequest request, int configSize, boolean ack)
            throws VhostUserProtocolException {
        byte[] header = new byte[VhostUserCodec.HEADER_SIZE];
        source.readFully(header);
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        long code = Integer.toUnsignedLong(h.getInt(0));
        int flags = h.getInt(4);
        long size = Integer.toUnsignedLong(h.getInt(8));
        if (code != request.code()) {
            throw new VhostUserProtocolException("reply to " + request + " names request " + code);
        }
        if (flags != (VhostUserCodec.VERSION | VhostUserCodec.FLAG_REPLY)) {
            throw new VhostUserProtocolException("reply to " + request + " has flags 0x" + Integer.toHexString(flags)
                    + " (version 1 with the reply flag expected)");
        }
        long expected = ack ? 8 : switch (request) {
            case GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_VRING_BASE -> 8;
            case GET_CONFIG -> 12L + configSize;
            default -> throw new IllegalArgumentException(request + " has no reply of its own");
        };
        if (size != expected) {
            throw new VhostUserProtocolException("reply to " + request + " announces " + size + " bytes, " + expected + " expected");
        }
        byte[] body = new byte[(int) size];
        source.readFully(body);
        ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
        if (ack || request != VhostUserRequest.GET_CONFIG && request != VhostUserRequest.GET_VRING_BASE) {
            return new U64(b.getLong(0));
        }
        if (request == VhostUserRequest.GET_VRING_BASE) {
            return new VringState(b.getInt(0), Integer.toUnsignedLong(b.getInt(4)));
        }
        int offset = b.getInt(0);
        long announced = Integer.toUnsignedLong(b.getInt(4));
        int configFlags = b.getInt(8);
        if (announced != configSize) {
            throw new VhostUserProtocolException("GET_CONFIG reply carries a " + announced + "-byte window, " + configSize + " expected");
        }
        byte[] data = new byte[configSize];
        b.get(12, data);
        return new Config(offset, configFlags, data);
    }
}
