package org.jvmm.sandbox.vhost;

/**
 * The byte stream a vhost-user connection runs over, with descriptors attached to its bytes: a Unix
 * stream socket in production ({@link SocketWire}), a scripted stream in tests.
 */
public interface Wire extends AutoCloseable {

    /** Bytes and descriptors read in one call; no bytes means the peer closed the connection. */
    record Chunk(byte[] data, int[] fds) {}

    /**
     * Reads at least one and at most {@code maxBytes} bytes, with at most {@code maxFds} descriptors;
     * a peer that attached more has broken the protocol (the extra descriptors are closed, never leaked).
     *
     * @throws VhostUserProtocolException if the peer sent too many descriptors or the read failed
     */
    Chunk receive(int maxBytes, int maxFds) throws VhostUserProtocolException;

    /** Writes all of {@code data}. */
    void send(byte[] data) throws VhostUserProtocolException;

    /** Closes a descriptor that arrived on this wire and is not kept. */
    void closeFd(int fd);

    /** Closes the connection. */
    @Override
    void close();
}
