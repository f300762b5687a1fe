package org.jvmm.sandbox.vhost;

/**
 * One decoded front-end message: its request, header flags, validated payload and the descriptors that
 * arrived with it (owned by the receiver, which must close or keep each one).
 */
public record VhostUserMessage(VhostUserRequest request, int flags, VhostUserPayload payload, int[] fds) {

    public VhostUserMessage {
        fds = fds.clone();
    }

    @Override
    public int[] fds() {
        return fds.clone();
    }

    /** Whether the front-end asked for a REPLY_ACK status (only honoured once REPLY_ACK is negotiated). */
    public boolean needsReply() {
        return (flags & VhostUserCodec.FLAG_NEED_REPLY) != 0;
    }
}
