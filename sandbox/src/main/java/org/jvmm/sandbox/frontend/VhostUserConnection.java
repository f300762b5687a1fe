package org.jvmm.sandbox.frontend;

import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.Posix;
import org.jvmm.sandbox.vhost.VhostUserCodec;
import org.jvmm.sandbox.vhost.VhostUserPayload;
import org.jvmm.sandbox.vhost.VhostUserPayload.Empty;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserProtocolException;
import org.jvmm.sandbox.vhost.VhostUserRequest;

/**
 * The front-end end of one vhost-user connection: sends requests (with descriptors as SCM_RIGHTS) and
 * reads their replies through {@link VhostUserReplies}. Every wait for the back-end is bounded by
 * {@link #replyTimeoutMillis}: a back-end that stops answering is treated like one that broke the
 * protocol, so it can stall the calling vCPU for at most that long and never hang it.
 *
 * <p>Once anything went wrong the connection is dead: every later call fails at once with the first
 * reason. Not thread-safe; its owner serialises calls.
 */
public final class VhostUserConnection implements AutoCloseable {

    private final int socket;
    private final int replyTimeoutMillis;
    private boolean replyAck;
    private String broken;
    private boolean closed;

    /** Takes ownership of the connected stream socket {@code socket}. */
    public VhostUserConnection(int socket, int replyTimeoutMillis) {
        this.socket = socket;
        this.replyTimeoutMillis = replyTimeoutMillis;
    }

    /** The socket, for watching it for a hang-up. */
    public int socket() {
        return socket;
    }

    /** From now on, every request without a reply of its own asks for a REPLY_ACK status and checks it. */
    public void useReplyAck() {
        replyAck = true;
    }

    /** Why the connection died, or null while it works. */
    public String brokenReason() {
        return broken;
    }

    /** Sends {@code request} with {@code fds} attached and, with REPLY_ACK, waits for a success status. */
    public void send(VhostUserRequest request, VhostUserPayload payload, int... fds) throws VhostUserProtocolException {
        write(request, payload, replyAck, fds);
        if (replyAck) {
            long status = ((U64) VhostUserReplies.read(this::readFully, request, 0, true)).value();
            if (status != 0) fail(request + " was refused by the back-end (status " + status + ")");
        }
    }

    /** Sends {@code request} (which has a reply of its own) and returns its validated reply. */
    public VhostUserPayload call(VhostUserRequest request, VhostUserPayload payload, int configSize)
            throws VhostUserProtocolException {
        write(request, payload, false);
        return VhostUserReplies.read(this::readFully, request, configSize, false);
    }

    /** {@link #call} for the requests whose reply is one 64-bit value. */
    public long callU64(VhostUserRequest request) throws VhostUserProtocolException {
        return ((U64) call(request, new Empty(), 0)).value();
    }

    private void write(VhostUserRequest request, VhostUserPayload payload, boolean needReply, int... fds)
            throws VhostUserProtocolException {
        check();
        int flags = VhostUserCodec.VERSION | (needReply ? VhostUserCodec.FLAG_NEED_REPLY : 0);
        byte[] bytes = VhostUserCodec.request(request, flags, payload);
        try {
            int sent = 0;
            while (sent < bytes.length) {
                if (Posix.poll(new int[] {socket}, Posix.POLLOUT, replyTimeoutMillis)[0] == 0) {
                    fail(request + ": the back-end stopped reading for " + replyTimeoutMillis + " ms");
                }
                byte[] rest = java.util.Arrays.copyOfRange(bytes, sent, bytes.length);
                // Descriptors travel with the first byte of the message, as the back-end expects.
                sent += (int) Posix.sendWithFds(socket, rest, sent == 0 ? fds : new int[0]);
            }
        } catch (SysException e) {
            fail(request + ": cannot send (" + e.errnoName() + "): the back-end is gone");
        }
    }

    private void readFully(byte[] buffer) throws VhostUserProtocolException {
        int got = 0;
        try {
            while (got < buffer.length) {
                if ((Posix.poll(new int[] {socket}, Posix.POLLIN, replyTimeoutMillis)[0]
                        & (Posix.POLLIN | Posix.POLLHUP | Posix.POLLERR)) == 0) {
                    fail("no reply from the back-end within " + replyTimeoutMillis + " ms");
                }
                org.jvmm.core.sys.Received r = Posix.recvWithFds(socket, buffer.length - got, 0);
                if (r.data().length == 0) fail("the back-end closed the connection");
                System.arraycopy(r.data(), 0, buffer, got, r.data().length);
                got += r.data().length;
            }
        } catch (SysException e) {
            // recvWithFds closed any descriptors that came along (EMSGSIZE): replies carry none.
            fail("cannot read a reply (" + e.errnoName() + "): " + e.getMessage());
        }
    }

    private void check() throws VhostUserProtocolException {
        if (closed) throw new VhostUserProtocolException("the connection is closed");
        if (broken != null) throw new VhostUserProtocolException(broken);
    }

    private void fail(String reason) throws VhostUserProtocolException {
        if (broken == null) broken = reason;
        throw new VhostUserProtocolException(reason);
    }

    /** Marks the connection dead from outside (a hang-up seen by a watcher), so calls fail at once. */
    void markBroken(String reason) {
        if (broken == null) broken = reason;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Posix.close(socket);
    }
}
