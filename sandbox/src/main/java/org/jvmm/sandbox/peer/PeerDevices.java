package org.jvmm.sandbox.peer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.Consumer;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.Posix;
import org.jvmm.sandbox.SandboxedDevices;
import org.jvmm.sandbox.frontend.BackendPeer;
import org.jvmm.sandbox.frontend.ParallelOpen;
import org.jvmm.sandbox.frontend.DeviceShape;
import org.jvmm.sandbox.frontend.VhostUserDevice;
import org.jvmm.virtio.VirtioDevice;

/**
 * Virtio devices whose vhost-user back-end is a program jvmm did not write, driven by jvmm's front-end
 * ({@link VhostUserDevice}) behind the ordinary virtio-mmio transport: a virtio-fs share served by a
 * virtiofsd that jvmm starts, and a virtio-blk disk served by a back-end already listening on a socket
 * (qemu-storage-daemon's {@code vhost-user-blk} export, for one). Such a back-end is not one of jvmm's
 * jailed helpers: virtiofsd confines itself (its namespace sandbox), and an existing socket's back-end is
 * whoever started it. As with {@link SandboxedDevices}, virtiofsd is launched when its share is added and
 * {@link #open()} connects them all at once.
 *
 * <pre>{@code
 * PeerDevices peers = new PeerDevices(line -> {});
 * peers.fs(new FsTag("share"), Path.of("/srv/share"));
 * peers.open().forEach(virtioMmioDevices::add);   // the guest: mount -t virtiofs share /mnt
 * }</pre>
 */
public final class PeerDevices {

    /** The request queues a virtio-fs device has: one, which is all virtiofsd serves. */
    static final int FS_REQUEST_QUEUES = 1;

    private final Consumer<String> onLost;
    private final List<Pending> pending = new ArrayList<>();
    private final java.util.Set<FsTag> tags = new java.util.HashSet<>();

    /** One device not yet connected: connecting it gives the device, discarding it releases what it holds. */
    private interface Pending {
        VirtioDevice connect();
        void discard();
    }

    /** @param onLost told, with the log line, when a back-end dies or breaks the protocol (its device then needs a reset) */
    public PeerDevices(Consumer<String> onLost) {
        this.onLost = onLost;
    }

    /**
     * A virtio-fs device offering {@code dir} to the guest as {@code tag}; virtiofsd starts now.
     *
     * @throws ConfigurationException if the directory is not one, the tag is taken, or virtiofsd is missing
     */
    public PeerDevices fs(FsTag tag, Path dir) {
        // The guest mounts a share by its tag alone: a second one of the same name could never be mounted.
        if (!tags.add(tag)) throw new ConfigurationException("Two shares are tagged '" + tag.text() + "': give each --fs its own tag.");
        String name = "virtio-fs(" + tag.text() + ")";
        Virtiofsd daemon = Virtiofsd.start("virtiofsd for " + tag.text(), dir);
        pending.add(new Pending() {
            @Override public VirtioDevice connect() {
                int socket;
                try {
                    socket = daemon.connect();
                } catch (RuntimeException e) {
                    daemon.process().destroyForcibly();
                    daemon.close();
                    throw e;
                }
                return VhostUserDevice.connect(DeviceShape.fs(name, FS_REQUEST_QUEUES), socket, daemon, onLost,
                        SandboxedDevices.REPLY_TIMEOUT_MILLIS, tag.configSpace(FS_REQUEST_QUEUES));
            }
            @Override public void discard() {
                daemon.process().destroyForcibly();
                daemon.close();
            }
        });
        return this;
    }

    /**
     * A virtio-blk disk served by the vhost-user back-end listening on {@code socket}; the capacity and the
     * rest of the configuration space come from the back-end (GET_CONFIG).
     *
     * @throws ConfigurationException if {@code socket} is not there
     */
    public PeerDevices vhostUserBlock(Path socket) {
        if (!Files.exists(socket)) {
            throw new ConfigurationException("No vhost-user socket at " + socket
                    + ": start its back-end first (e.g. qemu-storage-daemon --export type=vhost-user-blk,...,addr.path=" + socket + ").");
        }
        String name = "virtio-blk(" + socket.getFileName() + ")";
        pending.add(new Pending() {
            @Override public VirtioDevice connect() {
                int fd = Posix.unixSocket(false);
                try {
                    Posix.connectUnix(fd, socket.toString());
                } catch (SysException e) {
                    Posix.close(fd);
                    throw new ConfigurationException("Cannot connect to the vhost-user socket " + socket + " (" + e.errnoName()
                            + "): check that its back-end is running and serves no other front-end.");
                }
                return VhostUserDevice.connect(DeviceShape.block(name), fd, BackendPeer.NONE, onLost, SandboxedDevices.REPLY_TIMEOUT_MILLIS);
            }
            @Override public void discard() {}
        });
        return this;
    }

    /** Whether nothing was added. */
    public boolean isEmpty() {
        return pending.isEmpty();
    }

    /**
     * The devices, in the order they were added: connects to every back-end and completes its handshake,
     * all at once. On a failure everything already opened is closed before the exception propagates.
     *
     * @throws ConfigurationException if a back-end is not there or fails its handshake
     */
    public List<VirtioDevice> open() {
        List<Supplier<VirtioDevice>> openers = new ArrayList<>();
        for (Pending p : pending) openers.add(p::connect);
        pending.clear();
        return ParallelOpen.all(openers);
    }

    /** Releases everything added and not yet opened (virtiofsd processes are ended). */
    public void discard() {
        pending.forEach(Pending::discard);
        pending.clear();
    }
}
