package org.jvmm.virtio.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.darwin.DarwinLibc;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A Unix datagram socket carrying one bare Ethernet frame per datagram, as gvproxy ({@code -listen-vfkit
 * unixgram://}) and vfkit expect. The socket is connected to the peer's path and bound to an address of
 * its own, so that the peer can answer: on Linux a fresh abstract address (autobind), which leaves no file
 * behind; on macOS, which has no abstract addresses, a socket file in a private directory made for it,
 * removed once no process uses the socket any more (see {@link #close}).
 *
 * <p>Like vfkit, jvmm announces itself with a first datagram {@code "VFKT"}, which gvproxy's vfkit mode
 * waits for before it talks to a client; four bytes are no Ethernet frame, so any other peer that
 * checks frame sizes drops it.
 *
 * <p>The socket is non-blocking: a frame the peer has no room for is dropped rather than waited for.
 */
public final class DatagramSocketBackend implements NetBackend {

    private static final Logger LOG = Logger.getLogger(DatagramSocketBackend.class.getName());
    /** The datagram a vfkit-style client sends first. */
    static final byte[] VFKIT_MAGIC = {'V', 'F', 'K', 'T'};
    private static final String LOCAL_NAME = "net.sock";

    private final String description;
    private final int fd;
    /** The private directory holding this socket's own address, or null if it has none on disk. */
    private final Path localDir;

    /** Takes ownership of a connected datagram socket {@code fd} (for instance one end of a socketpair). */
    public DatagramSocketBackend(String description, int fd) {
        this(description, fd, null);
    }

    private DatagramSocketBackend(String description, int fd, Path localDir) {
        this.description = description;
        this.fd = fd;
        this.localDir = localDir;
        // Never wait: a datagram peer that cannot keep up loses frames, as a wire would. A flag on the
        // socket rather than MSG_DONTWAIT per send, because Posix.send takes no flags.
        Posix.setNonBlocking(fd);
        if (Posix.DARWIN) DarwinLibc.setNoSigPipe(fd); // as in StreamSocketBackend: a socket made elsewhere may lack it
    }

    /**
     * Connects to the datagram socket at {@code path}.
     *
     * @throws ConfigurationException if nothing is bound there
     */
    public static DatagramSocketBackend connect(String path) {
        return connect(path, !Posix.DARWIN);
    }

    /**
     * As {@link #connect(String)}, bound to a Linux abstract address if {@code abstractAddress}, else to a
     * socket file in a private directory (what macOS must do; tests take that path on Linux too).
     */
    static DatagramSocketBackend connect(String path, boolean abstractAddress) {
        int fd = Posix.unixSocket(true);
        Path localDir = null;
        try {
            if (abstractAddress) {
                // Autobind: Posix.bindUnix refuses the empty path, because abstract addresses are Linux's alone.
                LinuxLibc.bindUnix(fd, "");
            } else {
                localDir = privateDirectory();
                Path local = localDir.resolve(LOCAL_NAME);
                try {
                    Posix.bindUnix(fd, local.toString());
                } catch (SysException e) {
                    throw new ConfigurationException("Cannot bind the datagram socket's own address " + local + " (" + e.errnoName()
                            + "): point java.io.tmpdir at a short, writable directory.", e);
                }
            }
            try {
                Posix.connectUnix(fd, path);
                Posix.send(fd, VFKIT_MAGIC, 0, VFKIT_MAGIC.length);
            } catch (SysException e) {
                throw new ConfigurationException("Cannot connect to the datagram socket " + path + " (" + e.errnoName()
                        + "): start the network program (for example gvproxy -listen-vfkit unixgram://" + path + ") first.");
            }
            return new DatagramSocketBackend("unixgram:" + path, fd, localDir);
        } catch (RuntimeException e) {
            Posix.close(fd);
            removeLocal(localDir);
            throw e;
        }
    }

    /**
     * A new directory only this user can enter: the peer answers to whatever socket is at our address, so
     * no other user may put one there, nor connect to ours and inject frames.
     */
    private static Path privateDirectory() {
        try {
            return Files.createTempDirectory("jvmm-net-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new ConfigurationException("Cannot create a directory for the datagram socket's own address in "
                    + System.getProperty("java.io.tmpdir") + " (" + e.getMessage() + "): make the temporary directory writable.", e);
        }
    }

    private static void removeLocal(Path localDir) {
        if (localDir == null) return;
        try {
            Files.deleteIfExists(localDir.resolve(LOCAL_NAME));
            Files.deleteIfExists(localDir);
        } catch (IOException e) {
            LOG.log(Level.FINE, "cannot remove " + localDir, e);
        }
    }

    /** The socket file this backend is bound to, or null (an abstract address, or a socket handed over). */
    Path localAddress() {
        return localDir == null ? null : localDir.resolve(LOCAL_NAME);
    }

    @Override public String describe() { return description; }
    @Override public int fd() { return fd; }
    @Override public long offloadFeatures() { return 0; }

    @Override
    public int receive(byte[] buffer) {
        try {
            int n = Posix.read(fd, buffer, 0, buffer.length);
            // A datagram that filled the buffer may have been cut short: no frame is that long, so drop it.
            return n > VirtioNetHeader.MAX_FRAME || n == buffer.length ? 0 : n;
        } catch (SysException e) {
            if (!Posix.wouldBlock(e)) LOG.log(Level.FINE, description + ": receive failed", e);
            return 0;
        }
    }

    @Override
    public void send(byte[] frame, int length) {
        try {
            Posix.send(fd, frame, 0, length);
        } catch (SysException e) {
            LOG.log(Level.FINE, description + ": frame dropped", e);
        }
    }

    /**
     * Closes this descriptor. A socket file of its own address is removed at once if no other descriptor of
     * the socket is open, and otherwise when this JVM exits: jvmm hands the descriptor to a net helper and
     * then closes its copy, while the peer (gvproxy) goes on sending to the socket file by name for as long
     * as the helper runs, and jvmm outlives its helpers.
     */
    @Override
    public void close() {
        Posix.close(fd);
        if (localDir == null) return;
        if (boundElsewhere(localDir.resolve(LOCAL_NAME))) {
            localDir.toFile().deleteOnExit(); // deleteOnExit goes in reverse order: the file first, then its directory
            localDir.resolve(LOCAL_NAME).toFile().deleteOnExit();
        } else {
            removeLocal(localDir);
        }
    }

    /** Whether a socket is still bound at {@code address}: a datagram connect to a closed one is refused. */
    private static boolean boundElsewhere(Path address) {
        int probe = Posix.unixSocket(true);
        try {
            Posix.connectUnix(probe, address.toString());
            return true;
        } catch (SysException e) {
            // Linux refuses a socket connected elsewhere with EPERM: in use too. Anything unexpected keeps the file until exit.
            return !e.errnoName().equals("ECONNREFUSED");
        } finally {
            Posix.close(probe);
        }
    }
}
