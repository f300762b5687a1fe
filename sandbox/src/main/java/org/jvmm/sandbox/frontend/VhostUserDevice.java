package org.jvmm.sandbox.frontend;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Logger;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.PipeNotifier;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.vhost.VhostUserBackend;
import org.jvmm.sandbox.vhost.VhostUserCodec;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.Empty;
import org.jvmm.sandbox.vhost.VhostUserPayload.MemoryTable;
import org.jvmm.sandbox.vhost.VhostUserPayload.Region;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringAddress;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringFile;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;
import org.jvmm.sandbox.vhost.VhostUserProtocolException;
import org.jvmm.sandbox.vhost.VhostUserRequest;
import org.jvmm.virtio.ActiveQueue;
import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.queue.QueueLayout;

/**
 * A virtio device served by a vhost-user back-end in another process (one of jvmm's helpers, or any
 * vhost-user back-end): jvmm's vhost-user front-end. It sits behind the ordinary virtio-mmio transport,
 * which keeps every register in jvmm; this class turns the transport's lifecycle into vhost-user messages
 * (QEMU docs/interop/vhost-user.rst), in the order QEMU's vhost_dev_start and vhost_dev_stop use:
 *
 * <ul>
 *   <li>connection: SET_OWNER, GET_FEATURES, GET/SET_PROTOCOL_FEATURES (REPLY_ACK, CONFIG, RESET_DEVICE,
 *       MQ as offered), GET_QUEUE_NUM, GET_CONFIG of the whole configuration space, which is then cached;</li>
 *   <li>{@link #activate} (the driver set DRIVER_OK): SET_FEATURES with the driver's features,
 *       SET_MEM_TABLE with guest memory's own descriptors (the shared memory files it is mapped from), then per ready
 *       queue SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR, SET_VRING_CALL, SET_VRING_ERR, then per queue
 *       SET_VRING_KICK with the queue's kick descriptor, then SET_VRING_ENABLE. On KVM the kick descriptor
 *       is the queue's ioeventfd, so QueueNotify writes reach the back-end without any exit to jvmm; on a
 *       hypervisor without ioeventfd (Hypervisor.framework) it is the read end of a pipe that the
 *       transport writes on each QueueNotify exit;</li>
 *   <li>{@link #reset}: GET_VRING_BASE per started queue (the back-end stops using it), then RESET_DEVICE.</li>
 * </ul>
 *
 * <p>Interrupts: each queue's call descriptor is a notifier of jvmm (an eventfd on Linux, a pipe on macOS:
 * the back-end gets its write end) that one thread per device waits on; a call becomes {@link DeviceContext#signalUsed}, so the transport sets InterruptStatus before it
 * raises the line (an irqfd straight into KVM would leave InterruptStatus unset). An error descriptor
 * signalled by the back-end becomes {@link DeviceContext#fail}.
 *
 * <p>Faults: the back-end is untrusted and may die. A malformed reply, a refused request, a reply that
 * does not come within the timeout, or the socket hanging up makes the device lost for good: it enters
 * DEVICE_NEEDS_RESET (one log line naming the device and why) and stays so after every reset, while
 * the VM goes on; the optional failure callback can stop the machine instead. Nothing the back-end does
 * escapes as an exception or blocks a vCPU for longer than the reply timeout.
 *
 * <p>Threading: the transport calls {@link #activate}, {@link #reset} and the config methods from vCPU
 * threads one at a time; they are also synchronised here because {@link #close} may come from elsewhere.
 */
public final class VhostUserDevice implements VirtioDevice {

    private static final Logger LOG = Logger.getLogger(VhostUserDevice.class.getName());

    /** The protocol features this front-end uses when the back-end offers them. */
    static final long WANTED_PROTOCOL_FEATURES = (1L << VhostUserBackend.PF_MQ) | (1L << VhostUserBackend.PF_REPLY_ACK)
            | (1L << VhostUserBackend.PF_CONFIG) | (1L << VhostUserBackend.PF_RESET_DEVICE);

    /**
     * The back-end's feature bits that may reach the driver: the device-specific bits 0-23, indirect
     * descriptors, EVENT_IDX and VERSION_1. Everything else is either vhost-user's own (protocol
     * features, bit 30; dirty logging, bit 26) or a transport feature jvmm's virtio-mmio does not
     * implement (packed rings, platform access, in-order, ring reset).
     */
    static final long GUEST_VISIBLE_FEATURES = 0xffffffL | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
            | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | VirtioFeatures.bit(VirtioFeatures.VERSION_1);

    private final DeviceShape shape;
    private final BackendPeer peer;
    private final Consumer<String> onLost;
    private final VhostUserConnection connection;
    private final EventNotifier[] calls;
    private final EventNotifier[] errs;
    private final EventNotifier wake;
    private final Thread notifications;
    private final long backendFeatures;
    private final long protocolFeatures;
    private final byte[] config;
    /** The configuration space is the front-end's: never fetched from nor written to the back-end. */
    private final boolean configIsOwn;
    private final Object lostLock = new Object();
    /** Held while a notification is dispatched to {@link #active}, and while a reset retires it. */
    private final Object notifyLock = new Object();
    private volatile String lost;
    private volatile DeviceContext active;
    private volatile boolean closing;
    private final List<Integer> started = new ArrayList<>();

    /**
     * Performs the connection handshake with the back-end on {@code socket} (taking ownership of it).
     *
     * @param peer   what stands behind the socket: asked what became of it when the connection is lost,
     *               and closed with this device
     * @param onLost told once, with the log line, when the back-end is lost (null: the VM just goes on)
     * @param replyTimeoutMillis how long any one reply may take before the back-end counts as hung
     * @throws ConfigurationException if the handshake fails (the socket and the peer are closed)
     */
    public static VhostUserDevice connect(DeviceShape shape, int socket, BackendPeer peer, Consumer<String> onLost,
                                          int replyTimeoutMillis) {
        return connect(shape, socket, peer, onLost, replyTimeoutMillis, VhostUserDevice::hostNotifier);
    }

    /** As above, with the call, error and wake-up notifiers from {@code notifiers} (tests use pipes on Linux). */
    static VhostUserDevice connect(DeviceShape shape, int socket, BackendPeer peer, Consumer<String> onLost,
                                   int replyTimeoutMillis, Supplier<EventNotifier> notifiers) {
        return new VhostUserDevice(shape, new VhostUserConnection(socket, replyTimeoutMillis), peer, onLost, null, notifiers);
    }

    /**
     * As {@link #connect(DeviceShape, int, BackendPeer, Consumer, int)}, for a device whose configuration
     * space is the front-end's own ({@code ownConfig}, {@code shape.configSize()} bytes): it is neither
     * fetched with GET_CONFIG nor sent with SET_CONFIG. virtio-fs is such a device: its tag names the
     * share in this VM, and virtiofsd does not know it.
     */
    public static VhostUserDevice connect(DeviceShape shape, int socket, BackendPeer peer, Consumer<String> onLost,
                                          int replyTimeoutMillis, byte[] ownConfig) {
        if (ownConfig.length != shape.configSize()) {
            throw new IllegalArgumentException(ownConfig.length + " configuration bytes for a " + shape.configSize() + "-byte space");
        }
        return new VhostUserDevice(shape, new VhostUserConnection(socket, replyTimeoutMillis), peer, onLost, ownConfig.clone(),
                VhostUserDevice::hostNotifier);
    }

    private VhostUserDevice(DeviceShape shape, VhostUserConnection connection, BackendPeer peer, Consumer<String> onLost,
                            byte[] ownConfig, Supplier<EventNotifier> notifiers) {
        this.shape = shape;
        this.connection = connection;
        this.peer = peer;
        this.onLost = onLost;
        this.calls = new EventNotifier[shape.queueCount()];
        this.errs = new EventNotifier[shape.queueCount()];
        EventNotifier wakeUp = null;
        long features;
        long protocol = 0;
        byte[] space = new byte[shape.configSize()];
        try {
            for (int i = 0; i < calls.length; i++) {
                calls[i] = notifiers.get();
                errs[i] = notifiers.get();
            }
            wakeUp = notifiers.get();
            connection.send(VhostUserRequest.SET_OWNER, new Empty());
            features = connection.callU64(VhostUserRequest.GET_FEATURES);
            if (!VirtioFeatures.has(features, VirtioFeatures.VERSION_1)) {
                throw new VhostUserProtocolException("the back-end does not offer VIRTIO_F_VERSION_1");
            }
            if (VirtioFeatures.has(features, VhostUserBackend.F_PROTOCOL_FEATURES)) {
                protocol = connection.callU64(VhostUserRequest.GET_PROTOCOL_FEATURES) & WANTED_PROTOCOL_FEATURES;
                connection.send(VhostUserRequest.SET_PROTOCOL_FEATURES, new U64(protocol));
                if (has(protocol, VhostUserBackend.PF_REPLY_ACK)) connection.useReplyAck();
            }
            if (has(protocol, VhostUserBackend.PF_MQ)) {
                long queues = connection.callU64(VhostUserRequest.GET_QUEUE_NUM);
                if (queues < shape.queueCount()) {
                    throw new VhostUserProtocolException("the back-end has " + queues + " queues, " + shape.queueCount() + " needed");
                }
            }
            if (ownConfig != null) {
                space = ownConfig;
            } else if (has(protocol, VhostUserBackend.PF_CONFIG) && shape.configSize() > 0) {
                Config c = (Config) connection.call(VhostUserRequest.GET_CONFIG,
                        new Config(0, 0, new byte[shape.configSize()]), shape.configSize());
                if (c.offset() != 0) throw new VhostUserProtocolException("GET_CONFIG reply for offset " + c.offset() + ", 0 asked for");
                space = c.data();
            }
        } catch (VhostUserProtocolException | RuntimeException e) {
            String fate = peer.fate();
            connection.close();
            if (wakeUp != null) wakeUp.close();
            releaseDescriptors();
            peer.close();
            throw new ConfigurationException("The vhost-user back-end for " + shape.name() + " failed its handshake ("
                    + e.getMessage() + (fate.isEmpty() ? "" : "; " + fate) + "): see its messages above, or run with --sandbox=none.", e);
        }
        this.wake = wakeUp;
        this.backendFeatures = features;
        this.protocolFeatures = protocol;
        this.config = space;
        this.configIsOwn = ownConfig != null;
        this.notifications = Thread.ofPlatform().daemon().name(shape.name() + "-vhost-irq").unstarted(this::serveNotifications);
        notifications.start();
    }

    @Override public int deviceType() { return shape.deviceType(); }
    @Override public String name() { return shape.name(); }
    @Override public int queueCount() { return shape.queueCount(); }
    @Override public int maxQueueSize() { return shape.maxQueueSize(); }
    @Override public long features() { return backendFeatures & GUEST_VISIBLE_FEATURES; }
    @Override public int configSize() { return shape.configSize(); }
    @Override public boolean servedElsewhere() { return true; }

    /** Why the back-end was lost, or null while it serves. */
    public String lostReason() {
        return lost;
    }

    @Override
    public synchronized long readConfig(int offset, int size) {
        return VirtioDevice.readLittleEndian(config, offset, size);
    }

    @Override
    public synchronized void writeConfig(int offset, int size, long value) {
        byte[] data = new byte[size];
        for (int i = 0; i < size; i++) {
            data[i] = (byte) (value >>> (8 * i));
            config[offset + i] = data[i];
        }
        if (lost != null || configIsOwn || !has(protocolFeatures, VhostUserBackend.PF_CONFIG)) return;
        try {
            connection.send(VhostUserRequest.SET_CONFIG, new Config(offset, 0, data));
        } catch (VhostUserProtocolException e) {
            lose(e.getMessage());
        }
    }

    @Override
    public synchronized void activate(DeviceContext context) {
        synchronized (notifyLock) {
            active = context;
        }
        if (lost != null) {
            context.fail(lost);
            return;
        }
        try {
            long driverFeatures = context.features() & GUEST_VISIBLE_FEATURES;
            if (VirtioFeatures.has(backendFeatures, VhostUserBackend.F_PROTOCOL_FEATURES)) {
                driverFeatures |= VirtioFeatures.bit(VhostUserBackend.F_PROTOCOL_FEATURES);
            }
            connection.send(VhostUserRequest.SET_FEATURES, new U64(driverFeatures));
            setMemTable(context.memory());
            // Every ring configured before any is kicked: a back-end may activate a two-queue device only
            // once all configured rings run (jvmm's does), so no queue is ever served half set up.
            for (ActiveQueue q : context.queues()) configureQueue(context.memory(), q);
            for (ActiveQueue q : context.queues()) kickQueue(q);
            if (VirtioFeatures.has(backendFeatures, VhostUserBackend.F_PROTOCOL_FEATURES)) {
                for (ActiveQueue q : context.queues()) connection.send(VhostUserRequest.SET_VRING_ENABLE, new VringState(q.index(), 1));
            }
        } catch (VhostUserProtocolException e) {
            lose(e.getMessage());
        } catch (RuntimeException e) {
            lose("starting the queues failed: " + e);
        }
    }

    private void setMemTable(GuestMemory memory) throws VhostUserProtocolException {
        List<MemoryRegion> regions = memory.regions();
        if (regions.size() > VhostUserCodec.MAX_REGIONS) {
            throw new VhostUserProtocolException("guest memory has " + regions.size() + " regions, vhost-user carries " + VhostUserCodec.MAX_REGIONS);
        }
        List<Region> table = new ArrayList<>();
        int[] fds = new int[regions.size()];
        for (int i = 0; i < regions.size(); i++) {
            MemoryRegion r = regions.get(i);
            if (r.fd() < 0) throw new VhostUserProtocolException("guest memory at 0x" + Long.toHexString(r.guestAddress()) + " has no descriptor to share");
            // The "user address" is where jvmm maps the region: ring addresses below are given in that space.
            table.add(new Region(r.guestAddress(), r.size(), r.segment().address(), r.fdOffset()));
            fds[i] = r.fd();
        }
        connection.send(VhostUserRequest.SET_MEM_TABLE, new MemoryTable(table), fds);
    }

    private void configureQueue(GuestMemory memory, ActiveQueue q) throws VhostUserProtocolException {
        int i = q.index();
        QueueLayout layout = q.queue().layout();
        connection.send(VhostUserRequest.SET_VRING_NUM, new VringState(i, layout.size()));
        connection.send(VhostUserRequest.SET_VRING_BASE, new VringState(i, q.queue().nextAvail()));
        connection.send(VhostUserRequest.SET_VRING_ADDR, new VringAddress(i, 0, userAddress(memory, layout.descriptorTable()),
                userAddress(memory, layout.usedRing()), userAddress(memory, layout.availableRing()), 0));
        connection.send(VhostUserRequest.SET_VRING_CALL, new VringFile(i, false), calls[i].signalFd());
        connection.send(VhostUserRequest.SET_VRING_ERR, new VringFile(i, false), errs[i].signalFd());
    }

    private void kickQueue(ActiveQueue q) throws VhostUserProtocolException {
        int i = q.index();
        // The ioeventfd on KVM; where the hypervisor has none, the pipe the transport writes on each QueueNotify exit.
        int kick = q.kick().fd();
        if (kick < 0) {
            throw new VhostUserProtocolException("queue " + i + " has no kick descriptor to hand over (its transport"
                    + " signals an in-process notifier; VirtioMmioDevices gives remote devices descriptors)");
        }
        connection.send(VhostUserRequest.SET_VRING_KICK, new VringFile(i, false), kick);
        started.add(i);
    }

    /** jvmm's own address of guest-physical {@code gpa}, which the queue layout's validation put inside one region. */
    private static long userAddress(GuestMemory memory, long gpa) {
        for (MemoryRegion r : memory.regions()) {
            if (gpa >= r.guestAddress() && gpa < r.end()) return r.segment().address() + (gpa - r.guestAddress());
        }
        throw new IllegalStateException("validated ring address 0x" + Long.toHexString(gpa) + " is in no region");
    }

    @Override
    public synchronized void reset() {
        try {
            if (lost != null || started.isEmpty()) return;
            for (int i : started) {
                VringState s = (VringState) connection.call(VhostUserRequest.GET_VRING_BASE, new VringState(i, 0), 0);
                if (s.index() != i) throw new VhostUserProtocolException("GET_VRING_BASE reply for ring " + s.index() + ", " + i + " asked for");
            }
            if (has(protocolFeatures, VhostUserBackend.PF_RESET_DEVICE)) connection.send(VhostUserRequest.RESET_DEVICE, new Empty());
        } catch (VhostUserProtocolException e) {
            lose(e.getMessage());
        } finally {
            started.clear();
            // After GET_VRING_BASE the back-end has stopped, so whatever it signalled for this activation is
            // already in the eventfds: drained here, it cannot reach the next activation (a console's second
            // queue reporting the same failure would otherwise break the driver's fresh start).
            synchronized (notifyLock) {
                active = null;
                for (EventNotifier e : calls) drain(e);
                for (EventNotifier e : errs) drain(e);
            }
        }
    }

    /** Marks the back-end lost (once): the active driver sees NEEDS_RESET and the reason is logged once. */
    private void lose(String reason) {
        String line;
        synchronized (lostLock) {
            if (lost != null || closing) return;
            String fate = peer.fate();
            line = "vhost-user back-end lost: " + reason + (fate.isEmpty() ? "" : " (" + fate + ")");
            lost = line;
            connection.markBroken(line);
        }
        if (onLost != null) onLost.accept(shape.name() + ": " + line);
        DeviceContext context = active;
        if (context != null) {
            context.fail(line);
        } else {
            LOG.warning(shape.name() + ": " + line);
        }
    }

    /**
     * The notification thread: waits on the call and error descriptors and on the socket's hang-up, and
     * turns them into interrupts, NEEDS_RESET, and loss of the back-end.
     */
    private void serveNotifications() {
        int n = calls.length;
        boolean watchSocket = true;
        while (!closing) {
            int[] fds = new int[2 + 2 * n];
            int[] events = new int[fds.length];
            fds[0] = wake.fd();
            events[0] = Posix.POLLIN;
            fds[1] = watchSocket ? connection.socket() : -1; // poll skips negative descriptors
            events[1] = 0;
            for (int i = 0; i < n; i++) {
                fds[2 + i] = calls[i].fd();
                fds[2 + n + i] = errs[i].fd();
                events[2 + i] = events[2 + n + i] = Posix.POLLIN;
            }
            int[] ready;
            try {
                ready = Posix.poll(fds, events, -1);
            } catch (RuntimeException e) {
                if (!closing) LOG.warning(shape.name() + ": notification thread ended: " + e);
                return;
            }
            if (ready[0] != 0) wake.await();
            if (closing) return;
            if (watchSocket && (ready[1] & (Posix.POLLHUP | Posix.POLLERR)) != 0) {
                watchSocket = false;
                lose("the connection was closed by the back-end");
            }
            synchronized (notifyLock) {
                DeviceContext c = active;
                for (int i = 0; i < n; i++) {
                    if ((ready[2 + i] & Posix.POLLIN) != 0 && drain(calls[i]) != 0 && c != null) c.signalUsed();
                    if ((ready[2 + n + i] & Posix.POLLIN) != 0 && drain(errs[i]) != 0 && c != null) {
                        c.fail("queue " + i + ": the vhost-user back-end reported an error (see its log)");
                    }
                }
            }
        }
    }

    /** Ends the connection (a helper exits on the hang-up) and releases every descriptor. */
    @Override
    public void close() {
        synchronized (this) {
            if (closing) return;
            reset();
            closing = true;
        }
        wake.signal();
        if (Thread.currentThread() != notifications) {
            org.jvmm.virtio.QueueWorker.joinUninterruptibly(notifications);
        }
        connection.close();
        releaseDescriptors();
        wake.close();
        peer.close();
    }

    private void releaseDescriptors() {
        for (EventNotifier e : calls) if (e != null) e.close();
        for (EventNotifier e : errs) if (e != null) e.close();
    }

    /**
     * A non-blocking notifier for calls, errors and wake-ups: an eventfd on Linux, a pipe on macOS. The
     * back-end gets its {@link EventNotifier#signalFd()}; jvmm polls its {@link EventNotifier#fd()}.
     */
    private static EventNotifier hostNotifier() {
        return Posix.DARWIN ? new PipeNotifier() : new EventFd(LinuxLibc.eventfd(0, LinuxLibc.EFD_CLOEXEC | LinuxLibc.EFD_NONBLOCK));
    }

    /** Takes what is pending on a notifier without waiting: non-zero if it was signalled. */
    private static long drain(EventNotifier e) {
        return PipeNotifier.drain(e.fd());
    }

    private static boolean has(long bits, int bit) {
        return (bits & (1L << bit)) != 0;
    }
}
