package org.jvmm.sandbox;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jvmm.core.ConfigurationException;
import org.jvmm.sandbox.vhost.SocketWire;
import org.jvmm.sandbox.vhost.VhostUserBackend;
import org.jvmm.sandbox.vhost.Wire;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;

/**
 * A device helper process: serves one virtio device as a vhost-user back-end over one connection and
 * exits when the front-end disconnects (status 0) or breaks the protocol (status 1).
 *
 * <pre>
 * Helper blk (--socket-fd N | --socket PATH) (--disk-fd N | --test-open-disk PATH) [--ro] [--id ID]
 * </pre>
 * In production jvmm hands over everything as inherited descriptors ({@code --socket-fd}, {@code --disk-fd})
 * and the helper opens nothing itself. {@code --socket PATH} connects to a front-end listening on a Unix
 * socket (QEMU's {@code -chardev socket,server=on}); {@code --test-open-disk} opens an image by path and
 * exists for interop tests with other front-ends, which cannot pass a disk descriptor.
 */
public final class Helper {

    private Helper() {}

    /** Runs the helper; errors in the arguments print one sentence and exit with status 2. */
    public static void main(String[] args) {
        try {
            System.exit(run(args));
        } catch (ConfigurationException e) {
            System.err.println("jvmm helper: " + e.getMessage());
            System.exit(2);
        }
    }

    /** Parses {@code args}, serves the connection, and returns the exit status. */
    public static int run(String[] args) {
        List<String> a = new ArrayList<>(List.of(args));
        if (a.isEmpty() || !a.removeFirst().equals("blk")) {
            throw new ConfigurationException("Name the device to serve first: Helper blk --socket-fd N --disk-fd N.");
        }
        String socketPath = null, diskPath = null, id = null;
        int socketFd = -1, diskFd = -1;
        boolean readOnly = false;
        while (!a.isEmpty()) {
            String opt = a.removeFirst();
            switch (opt) {
                case "--ro" -> readOnly = true;
                case "--socket" -> socketPath = value(a, opt);
                case "--socket-fd" -> socketFd = fd(value(a, opt), opt);
                case "--disk-fd" -> diskFd = fd(value(a, opt), opt);
                case "--test-open-disk" -> diskPath = value(a, opt);
                case "--id" -> id = value(a, opt);
                default -> throw new ConfigurationException("Unknown helper option " + opt + ": see the usage in org.jvmm.sandbox.Helper.");
            }
        }
        if ((socketPath == null) == (socketFd < 0)) {
            throw new ConfigurationException("Give exactly one of --socket PATH and --socket-fd N.");
        }
        if ((diskPath == null) == (diskFd < 0)) {
            throw new ConfigurationException("Give exactly one of --disk-fd N and --test-open-disk PATH.");
        }
        // An inherited descriptor is reached through /proc/self/fd, which names the same open file.
        DiskImage image = DiskImage.open(diskPath != null ? Path.of(diskPath) : Path.of("/proc/self/fd/" + diskFd), readOnly);
        VirtioDevice device = id == null ? new VirtioBlock(image) : new VirtioBlock(image, id);
        Wire wire = socketPath != null ? SocketWire.connect(socketPath) : new SocketWire(socketFd);
        try (device; VhostUserBackend backend = new VhostUserBackend(device, wire)) {
            return backend.serve() == null ? 0 : 1;
        }
    }

    private static String value(List<String> a, String opt) {
        if (a.isEmpty()) throw new ConfigurationException("Option " + opt + " needs a value.");
        return a.removeFirst();
    }

    private static int fd(String s, String opt) {
        try {
            int fd = Integer.parseInt(s);
            if (fd >= 0) return fd;
        } catch (NumberFormatException e) {
            // falls through to the sentence below
        }
        throw new ConfigurationException("Option " + opt + " takes a descriptor number, not " + s + ".");
    }
}
