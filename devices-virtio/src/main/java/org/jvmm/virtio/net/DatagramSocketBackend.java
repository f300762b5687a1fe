package org.jvmm.virtio.net;

import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A Unix datagram socket carrying one bare Ethernet frame per datagram, as gvproxy ({@code -listen-vfkit
 * unixgram://}) and vfkit expect. The socket is bound to a fresh abstract address, so the peer can
 * answer without jvmm leaving a file behind, and connected to the peer's path.
 *
 * <p>Like vfkit, jvmm announces itself with a first datagram {@code "VFKT"}, which gvproxy's vfkit mode
 * waits for before it talks to a client; four bytes are no Ethernet frame, so any other peer that
 * checks frame sizes drops it. The abstract address is Linux's: this backend, like the rest of the
 * libc binding, is for Linux hosts.
 */
public final class DatagramSocketBackend implements NetBackend {

    private static final Logger LOG = Logger.getLogger(DatagramSocketBackend.class.getName());
    private static final int MSG_DONTWAIT = 0x40;
    /** The datagram a vfkit-style client sends first. */
    static final byte[] VFKIT_MAGIC = {'V', 'F', 'K', 'T'};

    private final String description;
    private final int fd;

    /** Takes ownership of a connected datagram socket {@code fd} (for instance one end of a socketpair). */
    public DatagramSocketBackend(String description, int fd) {
        this.description = description;
        this.fd = fd;
    }

    /**
     * Connects to the datagram socket at {@code path}.
     *
     * @throws ConfigurationException if nothing is bound there
     */
    public static DatagramSocketBackend connect(String path) {
        int fd = LinuxLibc.socket(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_DGRAM | LinuxLibc.SOCK_CLOEXEC, 0);
        try {
            LinuxLibc.bindUnix(fd, "");
            LinuxLibc.connectUnix(fd, path);
            LinuxLibc.send(fd, VFKIT_MAGIC, 0, VFKIT_MAGIC.length, LinuxLibc.MSG_NOSIGNAL);
        } catch (SysException e) {
            LinuxLibc.close(fd);
            throw new ConfigurationException("Cannot connect to the datagram socket " + path + " (" + e.errnoName()
                    + "): start the network program (for example gvproxy -listen-vfkit unixgram://" + path + ") first.");
        }
        return new DatagramSocketBackend("unixgram:" + path, fd);
    }

    @Override public String describe() { return description; }
    @Override public int fd() { return fd; }
    @Override public long offloadFeatures() { return 0; }

    @Override
    public int receive(byte[] buffer) {
        try {
            int n = LinuxLibc.read(fd, buffer, 0, buffer.length);
            // A datagram that filled the buffer may have been cut short: no frame is that long, so drop it.
            return n > VirtioNetHeader.MAX_FRAME || n == buffer.length ? 0 : n;
        } catch (SysException e) {
            LOG.log(Level.FINE, description + ": receive failed", e);
            return 0;
        }
    }

    @Override
    public void send(byte[] frame, int length) {
        try {
            // Never wait: a datagram peer that cannot keep up loses frames, as a wire would.
            LinuxLibc.send(fd, frame, 0, length, LinuxLibc.MSG_NOSIGNAL | MSG_DONTWAIT);
        } catch (SysException e) {
            LOG.log(Level.FINE, description + ": frame dropped", e);
        }
    }

    @Override
    public void close() {
        LinuxLibc.close(fd);
    }
}
