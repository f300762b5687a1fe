package org.jvmm.sandbox.vhost;

import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.Posix;

/** A {@link Wire} over a connected Unix stream socket, with descriptors as SCM_RIGHTS. Owns the socket. */
public final class SocketWire implements Wire {

    private final int socket;
    private volatile boolean closed;

    /** Takes ownership of the connected socket {@code socket}. */
    public SocketWire(int socket) {
        this.socket = socket;
    }

    /** Connects to the front-end listening on the Unix socket {@code path} (QEMU's {@code server=on}). */
    public static SocketWire connect(String path) {
        int fd = Posix.unixSocket(false);
        try {
            Posix.connectUnix(fd, path);
            return new SocketWire(fd);
        } catch (RuntimeException e) {
            Posix.close(fd);
            throw e;
        }
    }

    @Override
    public Chunk receive(int maxBytes, int maxFds) throws VhostUserProtocolException {
        while (true) {
            try {
                org.jvmm.core.sys.Received r = Posix.recvWithFds(socket, maxBytes, maxFds);
                return new Chunk(r.data(), r.fds());
            } catch (SysException e) {
                if (Posix.interrupted(e)) continue;
                throw new VhostUserProtocolException("receive failed: " + e.getMessage());
            }
        }
    }

    @Override
    public void send(byte[] data) throws VhostUserProtocolException {
        int sent = 0;
        try {
            while (sent < data.length) {
                byte[] rest = sent == 0 ? data : java.util.Arrays.copyOfRange(data, sent, data.length);
                sent += (int) Posix.sendWithFds(socket, rest, new int[0]);
            }
        } catch (SysException e) {
            throw new VhostUserProtocolException("send failed: " + e.getMessage());
        }
    }

    @Override
    public void closeFd(int fd) {
        try {
            Posix.close(fd);
        } catch (RuntimeException ignored) {
            // Only EBADF or EINTR are possible, and the descriptor is gone either way.
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Posix.close(socket);
    }
}
