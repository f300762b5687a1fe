package org.jvmm.virtio.net;

import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.darwin.DarwinLibc;

/**
 * A Unix stream socket carrying frames the way passt and QEMU's {@code -netdev stream} do (passt(1),
 * "--socket"): each frame preceded by its length as a 4-byte big-endian integer, no virtio header. The
 * peer is trusted no more than the guest: a length beyond the largest frame ends the connection.
 *
 * <p>The socket is non-blocking, and waits for a slow peer poll in short slices, so that
 * {@link #abortWaits} can end them; a frame cut short that way leaves the stream unframed, so the
 * connection then carries no more frames (logged).
 */
public final class StreamSocketBackend implements NetBackend {

    private static final Logger LOG = Logger.getLogger(StreamSocketBackend.class.getName());

    private static final int WAIT_SLICE_MILLIS = 100;

    private final String description;
    private final int fd;
    private volatile boolean broken;
    private volatile boolean abort;

    /** Takes ownership of a connected stream socket {@code fd} (for instance one end of a socketpair). */
    public StreamSocketBackend(String description, int fd) {
        this.description = description;
        this.fd = fd;
        Posix.setNonBlocking(fd);
        // macOS has no per-call MSG_NOSIGNAL: Posix.send relies on the socket's SO_NOSIGPIPE, which a socket
        // made elsewhere (handed over, or another program's socketpair) may lack.
        if (Posix.DARWIN) DarwinLibc.setNoSigPipe(fd);
    }

    @Override
    public void abortWaits(boolean abort) {
        this.abort = abort;
    }

    /** Waits until {@code fd} is ready for {@code events}; false (and the stream broken) if told to abort meanwhile. */
    private boolean await(int events) {
        while (!abort) {
            if (Posix.poll(new int[] {fd}, events, WAIT_SLICE_MILLIS)[0] != 0) return true;
        }
        LOG.warning(description + ": gave up on a stalled peer in the middle of a frame; closing the connection");
        broken = true;
        return false;
    }

    /**
     * Connects to the passt (or QEMU-stream-compatible) socket at {@code path}.
     *
     * @throws ConfigurationException if nothing listens there
     */
    public static StreamSocketBackend connect(String path) {
        int fd = Posix.unixSocket(false);
        try {
            Posix.connectUnix(fd, path);
        } catch (SysException e) {
            Posix.close(fd);
            throw new ConfigurationException("Cannot connect to the passt socket " + path + " (" + e.errnoName()
                    + "): start passt first (passt --socket " + path + ") and give the path it prints.");
        }
        return new StreamSocketBackend("passt:" + path, fd);
    }

    @Override public String describe() { return description; }
    @Override public int fd() { return fd; }
    @Override public long offloadFeatures() { return 0; }

    @Override
    public int receive(byte[] buffer) {
        if (broken) return -1;
        try {
            byte[] prefix = new byte[4];
            if (!readFully(prefix, 4)) return -1;
            long length = ((prefix[0] & 0xffL) << 24) | ((prefix[1] & 0xff) << 16) | ((prefix[2] & 0xff) << 8) | (prefix[3] & 0xff);
            if (length > VirtioNetHeader.MAX_FRAME || length > buffer.length) {
                // The stream cannot be resynchronised after a bogus length.
                LOG.warning(description + ": frame length " + length + " from the peer; closing the connection");
                broken = true;
                return -1;
            }
            return readFully(buffer, (int) length) ? (int) length : -1;
        } catch (SysException e) {
            LOG.log(Level.FINE, description + ": receive failed", e);
            broken = true;
            return -1;
        }
    }

    /** Reads exactly {@code length} bytes; false at end of stream or when told to abort. */
    private boolean readFully(byte[] into, int length) {
        int done = 0;
        while (done < length) {
            int n;
            try {
                n = Posix.read(fd, into, done, length - done);
            } catch (SysException e) {
                if (Posix.interrupted(e)) continue;
                if (!Posix.wouldBlock(e)) throw e;
                if (await(Posix.POLLIN)) continue;
                return false;
            }
            if (n == 0) return false;
            done += n;
        }
        return true;
    }

    @Override
    public void send(byte[] frame, int length) {
        if (broken) return;
        byte[] out = new byte[4 + length];
        out[0] = (byte) (length >>> 24);
        out[1] = (byte) (length >>> 16);
        out[2] = (byte) (length >>> 8);
        out[3] = (byte) length;
        System.arraycopy(frame, 0, out, 4, length);
        try {
            // Waiting: a slow peer slows the guest's transmit queue, which is the backpressure it should see.
            for (int done = 0; done < out.length; ) {
                try {
                    done += Posix.send(fd, out, done, out.length - done);
                } catch (SysException e) {
                    if (Posix.wouldBlock(e) && !await(Posix.POLLOUT)) return;
                    if (!Posix.interrupted(e) && !Posix.wouldBlock(e)) throw e;
                }
            }
        } catch (SysException e) {
            LOG.log(Level.WARNING, description + ": the peer is gone; frames are dropped from now on", e);
            broken = true;
        }
    }

    @Override
    public void close() {
        Posix.close(fd);
    }
}
