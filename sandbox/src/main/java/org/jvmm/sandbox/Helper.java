package org.jvmm.sandbox;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.jail.Jail;
import org.jvmm.sandbox.jail.SeccompMode;
import org.jvmm.sandbox.vhost.SocketWire;
import org.jvmm.sandbox.vhost.VhostUserBackend;
import org.jvmm.sandbox.vhost.Wire;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;
import org.jvmm.virtio.console.VirtioConsole;
import org.jvmm.virtio.net.DatagramSocketBackend;
import org.jvmm.virtio.net.MacAddress;
import org.jvmm.virtio.net.NetBackend;
import org.jvmm.virtio.net.StreamSocketBackend;
import org.jvmm.virtio.net.TapBackend;
import org.jvmm.virtio.net.VirtioNet;

/**
 * A device helper process: serves one virtio device as a vhost-user back-end over one connection and
 * exits when the front-end disconnects (status 0) or breaks the protocol (status 1).
 *
 * <pre>
 * Helper train                     (one helper's work in one JVM: the AOT training run, a self-test)
 * Helper KIND (--socket PATH | --socket-fd N) [--descriptors-on-socket] [--parent-pid PID]
 *        [--jail enforce|log [--jail-log-socket PATH]] OPTIONS
 *   blk      (--disk-fd N | --test-open-disk PATH | the disk on the socket) [--ro] [--id ID]
 *   net      (--net-kind tap:IFNAME|passt:NAME|unixgram:NAME | --test-open-tap IFNAME) --mac MAC
 *                                                                          (the TAP or socket on the socket)
 *   console  --cols N --rows N                                             (the terminal relay on the socket)
 * </pre>
 * With {@code --descriptors-on-socket}, as jvmm starts helpers, the first thing on the connection is one
 * byte 'D' carrying the device's descriptor (disk image, TAP or network socket, terminal) as SCM_RIGHTS,
 * then vhost-user starts: the helper opens nothing itself. {@code --parent-pid} arms PR_SET_PDEATHSIG
 * (SIGKILL; macOS has none, and relies on the socket's end of file) and exits at once if the parent is
 * already not that process, so a helper never outlives jvmm.
 * {@code --socket-fd} and {@code --disk-fd} take inherited descriptors; {@code --socket PATH} alone
 * connects to a front-end listening on a Unix socket (QEMU's {@code -chardev socket,server=on}), and
 * {@code --test-open-disk} opens an image by path and {@code --test-open-tap} attaches to a TAP device by name,
 * for interop tests with front-ends that cannot pass a disk or a TAP.
 * {@code --jail} installs the device's seccomp policy (Seatbelt profile on macOS) once the helper is ready to serve
 * ({@link org.jvmm.sandbox.jail.Jail#lockDown}); jvmm passes it when it starts the helper jailed.
 */
public final class Helper {

    private static final int SIGKILL = 9;

    private Helper() {}

    /** Runs the helper; errors in the arguments print one sentence and exit with status 2. */
    public static void main(String[] args) {
        // One line per log record on jvmm's standard error (the JDK's default spends two, the first on a date).
        String key = "java.util.logging.SimpleFormatter.format";
        if (System.getProperty(key) == null) System.setProperty(key, "jvmm helper: %4$s: %5$s%6$s%n");
        try {
            System.exit(run(args));
        } catch (ConfigurationException e) {
            System.err.println("jvmm helper: " + e.getMessage());
            System.exit(2);
        }
    }

    /** The parsed command line. */
    private static final class Options {
        String kind;
        String socketPath, diskPath, tapName, id, netKind, mac, jailLogSocket;
        SeccompMode jail;
        int socketFd = -1, diskFd = -1, cols = 80, rows = 25;
        long parentPid = -1;
        boolean readOnly, descriptorsOnSocket;
    }

    /** Parses {@code args}, serves the connection, and returns the exit status. */
    public static int run(String[] args) {
        if (args.length == 1 && args[0].equals("train")) {
            try {
                return HelperTraining.run();
            } catch (Exception e) {
                System.err.println("jvmm helper train: " + e);
                return 1;
            }
        }
        Options o = parse(args);
        if (o.parentPid >= 0) {
            // Armed first, then checked: a parent that died before the prctl would otherwise go unnoticed.
            // macOS has no parent-death signal: there the end of file on the socket, which the kernel delivers
            // when jvmm's process ends however it ends, is what ends the helper.
            if (!Posix.DARWIN) LinuxLibc.prctl(LinuxLibc.PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            long parent = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L);
            if (parent != o.parentPid) {
                System.err.println("jvmm helper: jvmm (pid " + o.parentPid + ") is gone; exiting.");
                return 1;
            }
        }
        int socket = o.socketPath != null ? connect(o.socketPath) : o.socketFd;
        int handed = -1;
        if (o.descriptorsOnSocket) {
            handed = receiveDescriptor(socket);
            if (handed < 0) {
                Posix.close(socket);
                return 1;
            }
        }
        VirtioDevice device = device(o, handed);
        Wire wire = new SocketWire(socket);
        try (device; VhostUserBackend backend = new VhostUserBackend(device, wire)) {
            if (o.jail != null) Jail.lockDown(o.kind, o.jail, o.jailLogSocket);
            return backend.serve() == null ? 0 : 1;
        }
    }

    private static Options parse(String[] args) {
        List<String> a = new ArrayList<>(List.of(args));
        Options o = new Options();
        o.kind = a.isEmpty() ? "" : a.removeFirst();
        if (!List.of("blk", "net", "console").contains(o.kind)) {
            throw new ConfigurationException("Name the device to serve first: Helper blk|net|console --socket PATH ...");
        }
        while (!a.isEmpty()) {
            String opt = a.removeFirst();
            switch (opt) {
                case "--ro" -> o.readOnly = true;
                case "--socket" -> o.socketPath = value(a, opt);
                case "--socket-fd" -> o.socketFd = fd(value(a, opt), opt);
                case "--disk-fd" -> o.diskFd = fd(value(a, opt), opt);
                case "--test-open-disk" -> o.diskPath = value(a, opt);
                case "--test-open-tap" -> o.tapName = value(a, opt);
                case "--descriptors-on-socket" -> o.descriptorsOnSocket = true;
                case "--parent-pid" -> o.parentPid = fd(value(a, opt), opt);
                case "--id" -> o.id = value(a, opt);
                case "--net-kind" -> o.netKind = value(a, opt);
                case "--mac" -> o.mac = value(a, opt);
                case "--cols" -> o.cols = fd(value(a, opt), opt);
                case "--rows" -> o.rows = fd(value(a, opt), opt);
                case "--jail" -> o.jail = switch (value(a, opt)) {
                    case "enforce" -> SeccompMode.ENFORCE;
                    case "log" -> SeccompMode.LOG;
                    default -> throw new ConfigurationException("Option --jail takes enforce or log.");
                };
                case "--jail-log-socket" -> o.jailLogSocket = value(a, opt);
                default -> throw new ConfigurationException("Unknown helper option " + opt + ": see the usage in org.jvmm.sandbox.Helper.");
            }
        }
        if ((o.socketPath == null) == (o.socketFd < 0)) {
            throw new ConfigurationException("Give exactly one of --socket PATH and --socket-fd N.");
        }
        switch (o.kind) {
            case "blk" -> {
                int sources = (o.diskPath != null ? 1 : 0) + (o.diskFd >= 0 ? 1 : 0) + (o.descriptorsOnSocket ? 1 : 0);
                if (sources != 1) {
                    throw new ConfigurationException("Give exactly one of --disk-fd N, --test-open-disk PATH and --descriptors-on-socket.");
                }
            }
            case "net" -> {
                boolean handed = o.descriptorsOnSocket && o.netKind != null && o.tapName == null;
                boolean opened = o.tapName != null && !o.descriptorsOnSocket && o.netKind == null;
                if (!(handed || opened) || o.mac == null) {
                    throw new ConfigurationException("A net helper needs --mac MAC and either --descriptors-on-socket with"
                            + " --net-kind KIND:NAME or --test-open-tap IFNAME.");
                }
            }
            default -> {
                if (!o.descriptorsOnSocket) throw new ConfigurationException("A console helper needs --descriptors-on-socket.");
                if (o.cols > 0xffff || o.rows > 0xffff) throw new ConfigurationException("Give --cols and --rows from 0 to 65535.");
            }
        }
        return o;
    }

    private static int connect(String path) {
        try {
            int fd = Posix.unixSocket(false);
            try {
                Posix.connectUnix(fd, path);
                return fd;
            } catch (RuntimeException e) {
                Posix.close(fd);
                throw e;
            }
        } catch (RuntimeException e) {
            throw new ConfigurationException("Cannot connect to the front-end at " + path + " (" + e.getMessage() + "): start the front-end first.");
        }
    }

    /** The 'D' message jvmm sends first: exactly one descriptor; -1 (logged) if the front-end sent anything else. */
    private static int receiveDescriptor(int socket) {
        try {
            org.jvmm.core.sys.Received r = Posix.recvWithFds(socket, 1, 1);
            if (r.data().length == 1 && r.data()[0] == 'D' && r.fds().length == 1) return r.fds()[0];
            for (int fd : r.fds()) Posix.close(fd);
            System.err.println("jvmm helper: the front-end did not hand over the device's descriptor first; exiting.");
        } catch (RuntimeException e) {
            System.err.println("jvmm helper: receiving the device's descriptor failed (" + e.getMessage() + "); exiting.");
        }
        return -1;
    }

    private static VirtioDevice device(Options o, int handed) {
        return switch (o.kind) {
            case "blk" -> {
                // A received or inherited descriptor is used as it is: no reopen, and the OFD lock jvmm took on
                // its open file description is already this descriptor's (adopt takes it if jvmm did not).
                int fd = handed >= 0 ? handed : o.diskFd;
                DiskImage image = o.diskPath != null ? DiskImage.open(Path.of(o.diskPath), o.readOnly)
                        : DiskImage.adopt(fd, Path.of(o.id != null ? o.id : "disk-fd-" + fd), o.readOnly); // named as jvmm names it
                yield o.id == null ? new VirtioBlock(image) : new VirtioBlock(image, o.id);
            }
            case "net" -> new VirtioNet(o.tapName != null ? TapBackend.open(o.tapName) : netBackend(o.netKind, handed),
                    MacAddress.parse(o.mac));
            default -> new VirtioConsole(DescriptorStreams.input(handed), DescriptorStreams.output(handed), o.cols, o.rows);
        };
    }

    private static NetBackend netBackend(String spec, int fd) {
        int colon = spec.indexOf(':');
        String kind = colon < 0 ? spec : spec.substring(0, colon);
        String name = colon < 0 ? "" : spec.substring(colon + 1);
        return switch (kind) {
            case "tap" -> TapBackend.adopt(name, fd);
            case "passt" -> new StreamSocketBackend("passt:" + name, fd);
            case "unixgram" -> new DatagramSocketBackend("unixgram:" + name, fd);
            default -> throw new ConfigurationException("Unknown --net-kind " + spec + ": give tap:IFNAME, passt:NAME or unixgram:NAME.");
        };
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
        throw new ConfigurationException("Option " + opt + " takes a non-negative number, not " + s + ".");
    }
}
