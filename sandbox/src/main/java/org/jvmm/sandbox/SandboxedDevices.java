package org.jvmm.sandbox;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jvmm.core.ConfigurationException;
import org.jvmm.sandbox.frontend.BackendPeer;
import org.jvmm.sandbox.frontend.ParallelOpen;
import org.jvmm.sandbox.frontend.DeviceShape;
import org.jvmm.sandbox.frontend.VhostUserDevice;
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
 * The embedding API for choosing where devices run: add disks, interfaces and a console, then
 * {@link #open()} returns the {@link VirtioDevice}s to put in virtio-mmio slots. With {@link Sandbox#NONE}
 * they are jvmm's in-process devices; with {@link Sandbox#PROCESS} each is a {@link VhostUserDevice} in
 * front of its own {@link Helper} process, which gets the device's descriptor (disk image, TAP or socket,
 * console relay) from jvmm and opens nothing itself.
 *
 * <p>Each helper is launched as soon as its device is added, so the helper JVMs start in parallel with
 * each other and with whatever the caller does before {@link #open()}; {@code open} then waits for all of
 * them to connect and completes their vhost-user handshakes, all at once.
 *
 * <pre>{@code
 * SandboxedDevices s = new SandboxedDevices(Sandbox.PROCESS, line -> {});
 * s.block(Path.of("disk.img"), false);
 * new VirtioMmioDevices(base, slotSize, irqs, EventFd::new).add(s.open().getFirst());
 * }</pre>
 */
public final class SandboxedDevices {

    /**
     * How long one vhost-user reply may take before the helper counts as hung: 60 s, or the system property
     * {@code jvmm.helperReplyTimeoutMillis}. Generous because a helper's first replies come while its JVM is
     * still loading classes: in the nested rig's emulated L1 (12-16 times slower than the host, on a busy host)
     * a jailed blk helper missed a 15 s bound on its first reply, and the VM never started.
     */
    public static final int REPLY_TIMEOUT_MILLIS = Integer.getInteger("jvmm.helperReplyTimeoutMillis", 60_000);

    private final Sandbox sandbox;
    private final Consumer<String> onHelperLost;
    private final Function<HelperCommand, List<String>> commandLine;
    private final List<Pending> pending = new ArrayList<>();

    /** One device: in-process already, or a launched helper waiting to be connected. */
    private record Pending(VirtioDevice inProcess, HelperProcess helper, DeviceShape shape, int descriptor,
                           AutoCloseable afterHandOver, AutoCloseable withPeer) {}

    /**
     * @param onHelperLost told, with the log line, when a helper dies or breaks the protocol (the device
     *                     then needs a reset either way; this is where a caller stops the machine instead)
     */
    public SandboxedDevices(Sandbox sandbox, Consumer<String> onHelperLost) {
        this(sandbox, onHelperLost, HelperCommand::command);
    }

    /** As above, with helpers launched through {@code commandLine} (a jail's wrapper around {@link HelperCommand#command}). */
    public SandboxedDevices(Sandbox sandbox, Consumer<String> onHelperLost, Function<HelperCommand, List<String>> commandLine) {
        this.sandbox = sandbox;
        this.onHelperLost = onHelperLost;
        this.commandLine = commandLine;
    }

    /** A virtio-blk disk on the raw image {@code image}. */
    public SandboxedDevices block(Path image, boolean readOnly) {
        if (sandbox == Sandbox.NONE) return add(new VirtioBlock(DiskImage.open(image, readOnly)));
        // Opened and locked here, and kept open for the VM's life: the helper gets this very descriptor, whose
        // open file description holds the lock, so no other VM can take the image before, while or after the
        // helper starts, and the helper does its I/O on it without opening anything.
        DiskImage disk = DiskImage.open(image, readOnly);
        if (disk.descriptor() < 0) {
            disk.close();
            throw new IllegalStateException("the image " + image + " was opened without a descriptor to hand over");
        }
        String name = "virtio-blk(" + image.getFileName() + ")";
        List<String> args = new ArrayList<>(List.of("--id", String.valueOf(image.getFileName())));
        if (readOnly) args.add("--ro");
        return launch(name, "blk", args, "the blk helper for " + image.getFileName(), DeviceShape.block(name), disk.descriptor(),
                null, disk);
    }

    /** A virtio-net interface on {@code backend} (opened by jvmm: TAP, passt or unixgram), with {@code mac}. */
    public SandboxedDevices net(NetBackend backend, MacAddress mac) {
        if (sandbox == Sandbox.NONE) return add(new VirtioNet(backend, mac));
        String spec = switch (backend) {
            case TapBackend t -> t.describe();
            case StreamSocketBackend s -> "passt:" + s.describe().substring(s.describe().indexOf(':') + 1);
            case DatagramSocketBackend d -> "unixgram:" + d.describe().substring(d.describe().indexOf(':') + 1);
        };
        String name = "virtio-net(" + backend.describe() + ")";
        return launch(name, "net", List.of("--net-kind", spec, "--mac", mac.toString()), "the net helper for " + backend.describe(),
                DeviceShape.net(name), backend.fd(), backend, null);
    }

    /** A virtio-console reading {@code in} and writing {@code out}, reporting {@code cols} x {@code rows}. */
    public SandboxedDevices console(InputStream in, OutputStream out, int cols, int rows) {
        if (sandbox == Sandbox.NONE) return add(new VirtioConsole(in, out, cols, rows));
        ConsoleRelay relay = new ConsoleRelay("virtio-console-relay", in, out);
        return launch("virtio-console", "console", List.of("--cols", Integer.toString(cols), "--rows", Integer.toString(rows)),
                "the console helper", DeviceShape.console("virtio-console"), relay.helperEnd(), relay::handedOver, relay);
    }

    private SandboxedDevices add(VirtioDevice device) {
        pending.add(new Pending(device, null, null, -1, null, null));
        return this;
    }

    private SandboxedDevices launch(String name, String kind, List<String> args, String helperName, DeviceShape shape,
                                    int descriptor, AutoCloseable afterHandOver, AutoCloseable withPeer) {
        HelperProcess helper;
        try {
            helper = HelperProcess.start(helperName, kind, args, commandLine);
        } catch (RuntimeException e) {
            closeQuietly(afterHandOver);
            closeQuietly(withPeer);
            throw e;
        }
        pending.add(new Pending(null, helper, shape, descriptor, afterHandOver, withPeer));
        return this;
    }

    /**
     * The devices, in the order they were added: connects every helper and completes its handshake.
     * On a failure everything already opened is closed before the exception propagates.
     *
     * @throws ConfigurationException if a helper does not start or fails its handshake
     */
    public List<VirtioDevice> open() {
        // Every helper is connected and shaken hands with at the same time: the wait is the slowest one's, not the sum.
        List<Supplier<VirtioDevice>> openers = new ArrayList<>();
        for (Pending p : pending) openers.add(p.inProcess() != null ? p::inProcess : () -> connect(p));
        pending.clear();
        return ParallelOpen.all(openers);
    }

    /** Connects one helper and completes its handshake; on failure its helper and descriptors are released. */
    private VirtioDevice connect(Pending p) {
        int socket;
        try {
            socket = p.helper().connect(p.descriptor());
        } catch (RuntimeException e) {
            p.helper().kill();
            p.helper().close();
            closeQuietly(p.withPeer());
            throw e;
        } finally {
            closeQuietly(p.afterHandOver());
        }
        BackendPeer peer = p.withPeer() == null ? p.helper() : new BackendPeer() {
            @Override public String fate() { return p.helper().fate(); }
            @Override public void close() { p.helper().close(); closeQuietly(p.withPeer()); }
        };
        // A failed handshake closes the peer itself.
        return VhostUserDevice.connect(p.shape(), socket, peer, onHelperLost, REPLY_TIMEOUT_MILLIS);
    }

    /** Releases everything added and not yet opened: in-process devices, launched helpers and their descriptors. */
    public void discard() {
        for (Pending p : pending) {
            if (p.inProcess() != null) {
                p.inProcess().close();
                continue;
            }
            closeQuietly(p.afterHandOver());
            p.helper().kill();
            p.helper().close();
            closeQuietly(p.withPeer());
        }
        pending.clear();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // releasing after a failure: the original error is what matters
        }
    }
}
