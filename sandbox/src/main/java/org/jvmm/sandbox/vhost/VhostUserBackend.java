package org.jvmm.sandbox.vhost;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.Posix;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.Empty;
import org.jvmm.sandbox.vhost.VhostUserPayload.MemoryTable;
import org.jvmm.sandbox.vhost.VhostUserPayload.Region;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringAddress;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringFile;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;
import org.jvmm.virtio.ActiveQueue;
import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.queue.QueueException;
import org.jvmm.virtio.queue.QueueLayout;
import org.jvmm.virtio.queue.SplitQueue;

/**
 * The back-end side of one vhost-user connection (QEMU docs/interop/vhost-user.rst): it answers the
 * front-end's control messages and serves a {@link VirtioDevice}'s queues in the front-end's shared
 * memory, woken by kick descriptors and signalling call descriptors. The device code is the same that
 * runs in-process behind virtio-mmio; only its {@link DeviceContext} differs.
 *
 * <p>A ring runs once it has a size, addresses and a kick descriptor (SET_VRING_KICK starts it) and,
 * if VHOST_USER_F_PROTOCOL_FEATURES was negotiated, once SET_VRING_ENABLE enabled it; GET_VRING_BASE
 * stops it and returns where it stopped. SET_VRING_ENABLE is also accepted from a front-end that set protocol
 * features but left that bit out of SET_FEATURES, as QEMU 7.2 does for vhost-user-net (libvhost-user and
 * DPDK accept it too): its rings start enabled, and an explicit SET_VRING_ENABLE decides from then on. The device is activated with the running rings and
 * re-activated whenever that set changes (for one-queue devices like virtio-blk: started and stopped).
 *
 * <p>The front-end is a peer, not trusted: every message is validated, and a malformed or out-of-order
 * one (a ring address before the memory table, a ring index past the device's queues, features never
 * offered) ends the connection with one log line saying why; a front-end that asked for REPLY_ACK gets
 * a failure status first. Nothing the peer sends escapes as anything but the end of {@link #serve()}.
 *
 * <p>Threading: {@link #serve()} runs the control conversation on the calling thread; the device's
 * queue workers run on their own threads, and are stopped before any state they use changes.
 */
public final class VhostUserBackend implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(VhostUserBackend.class.getName());

    /** VHOST_USER_F_PROTOCOL_FEATURES: the feature bit that unlocks protocol features and ring enabling. */
    public static final int F_PROTOCOL_FEATURES = 30;
    /** Protocol feature bits (vhost-user.rst "Protocol features"). */
    public static final int PF_MQ = 0, PF_REPLY_ACK = 3, PF_CONFIG = 9, PF_RESET_DEVICE = 13;
    /** The protocol features this back-end offers. */
    public static final long PROTOCOL_FEATURES = (1L << PF_MQ) | (1L << PF_REPLY_ACK) | (1L << PF_CONFIG) | (1L << PF_RESET_DEVICE);

    private final VirtioDevice device;
    private final Wire wire;
    private final Ring[] rings;
    private final long offeredFeatures;
    private boolean owned;
    private long features;
    private long protocolFeatures;
    /** Whether the front-end sent SET_PROTOCOL_FEATURES, which it may do only after seeing VHOST_USER_F_PROTOCOL_FEATURES offered. */
    private boolean protocolFeaturesSet;
    private Mapping memory;
    private boolean deviceActive;
    private volatile boolean deviceFailed;
    /** Whether the message being handled handed its descriptors over to state that now owns them. */
    private boolean fdsKept;

    /** One ring's state as the front-end set it up. */
    private static final class Ring {
        int size;
        VringAddress address;
        int base;
        PeerKick kick;
        volatile PeerCall call;
        volatile PeerCall err;
        boolean started;
        /** The last SET_VRING_ENABLE, null if none since the ring was reset. */
        Boolean enabled;
        SplitQueue queue;
    }

    /** The memory table: guest memory over the mapped descriptors, and the front-end addresses of each region. */
    private record Mapping(GuestMemory memory, List<Region> regions) {
        /** The guest-physical address of front-end address {@code va} if {@code length} bytes from it lie in one region. */
        Optional<Long> translate(long va, long length) {
            for (Region r : regions) {
                long delta = va - r.userAddress();
                if (Long.compareUnsigned(delta, r.size()) < 0 && Long.compareUnsigned(length, r.size() - delta) <= 0) {
                    return Optional.of(r.guestAddress() + delta);
                }
            }
            return Optional.empty();
        }
    }

    /** A back-end serving {@code device} over {@code wire}; owns the wire, while the caller keeps (and closes) the device. */
    public VhostUserBackend(VirtioDevice device, Wire wire) {
        this.device = device;
        this.wire = wire;
        this.rings = new Ring[device.queueCount()];
        for (int i = 0; i < rings.length; i++) rings[i] = new Ring();
        this.offeredFeatures = device.features() | (1L << F_PROTOCOL_FEATURES);
    }

    /**
     * Answers messages until the front-end disconnects (returns normally) or breaks the protocol
     * (logs why and returns); the device is reset either way.
     *
     * @return null on a clean disconnect, or the protocol violation that ended the connection
     */
    public String serve() {
        try {
            while (true) {
                Optional<VhostUserMessage> m = VhostUserCodec.read(wire, VhostUserCodec.MAX_REGIONS);
                if (m.isEmpty()) return null;
                handle(m.get());
            }
        } catch (VhostUserProtocolException e) {
            LOG.warning(device.name() + ": vhost-user front-end broke the protocol, closing the connection: " + e.getMessage());
            return e.getMessage();
        } finally {
            close();
        }
    }

    private void handle(VhostUserMessage m) throws VhostUserProtocolException {
        int[] fds = m.fds();
        fdsKept = false;
        try {
            Optional<VhostUserPayload> reply;
            try {
                reply = dispatch(m, fds);
            } catch (RuntimeException e) {
                // A failure of ours or of the device (a refused mmap, an I/O error) ends this connection
                // like a violation does, instead of ending the helper with a stack trace.
                LOG.log(Level.WARNING, device.name() + ": " + m.request() + " failed", e);
                throw new VhostUserProtocolException(m.request() + " failed: " + e.getMessage());
            }
            if (!fdsKept) for (int fd : fds) wire.closeFd(fd);
            fdsKept = true;
            if (reply.isPresent()) {
                wire.send(VhostUserCodec.reply(m.request(), reply.get()));
            } else if (m.needsReply() && has(protocolFeatures, PF_REPLY_ACK)) {
                wire.send(VhostUserCodec.reply(m.request(), new U64(0)));
            }
        } catch (VhostUserProtocolException e) {
            if (!fdsKept) for (int fd : fds) wire.closeFd(fd);
            if (m.needsReply() && has(protocolFeatures, PF_REPLY_ACK)) {
                try {
                    wire.send(VhostUserCodec.reply(m.request(), new U64(1)));
                } catch (VhostUserProtocolException ignored) {
                    // The connection is ending anyway; the original violation is what matters.
                }
            }
            throw e;
        }
    }

    /**
     * Acts on one message; returns the reply payload for requests that have one. A handler that keeps
     * the message's descriptors sets {@link #fdsKept}; otherwise {@link #handle} closes them, whether
     * the message succeeded or not.
     */
    private Optional<VhostUserPayload> dispatch(VhostUserMessage m, int[] fds) throws VhostUserProtocolException {
        VhostUserRequest r = m.request();
        switch (m.payload()) {
            case Empty e -> {
                switch (r) {
                    case GET_FEATURES -> { return Optional.of(new U64(offeredFeatures)); }
                    case GET_PROTOCOL_FEATURES -> { return Optional.of(new U64(PROTOCOL_FEATURES)); }
                    case GET_QUEUE_NUM -> { return Optional.of(new U64(rings.length)); }
                    case SET_OWNER -> owned = true;
                    case RESET_OWNER, RESET_DEVICE -> { requireOwner(r); resetRings(); features = 0; }
                    default -> throw new VhostUserProtocolException(r + ": unexpected empty payload");
                }
            }
            case U64 u -> {
                switch (r) {
                    case SET_FEATURES -> {
                        requireOwner(r);
                        if ((u.value() & ~offeredFeatures) != 0) {
                            throw new VhostUserProtocolException("SET_FEATURES: bits 0x" + Long.toHexString(u.value() & ~offeredFeatures) + " were never offered");
                        }
                        if (anyStarted()) throw new VhostUserProtocolException("SET_FEATURES while a ring is running");
                        features = u.value();
                    }
                    case SET_PROTOCOL_FEATURES -> {
                        if ((u.value() & ~PROTOCOL_FEATURES) != 0) {
                            throw new VhostUserProtocolException("SET_PROTOCOL_FEATURES: bits 0x" + Long.toHexString(u.value() & ~PROTOCOL_FEATURES) + " were never offered");
                        }
                        protocolFeatures = u.value();
                        protocolFeaturesSet = true;
                    }
                    default -> throw new VhostUserProtocolException(r + ": unexpected u64 payload");
                }
            }
            case VringState s -> { return vringState(r, s); }
            case VringAddress a -> {
                Ring ring = ring(r, a.index());
                requireOwner(r);
                if (memory == null) throw new VhostUserProtocolException("SET_VRING_ADDR before SET_MEM_TABLE");
                if (ring.started) throw new VhostUserProtocolException("SET_VRING_ADDR on running ring " + a.index());
                if ((a.flags() & ~1) != 0) throw new VhostUserProtocolException("SET_VRING_ADDR: unknown flags 0x" + Integer.toHexString(a.flags()));
                if ((a.flags() & 1) != 0) throw new VhostUserProtocolException("SET_VRING_ADDR: dirty logging was not negotiated");
                for (long va : new long[] {a.descriptorTable(), a.usedRing(), a.availableRing()}) {
                    if (memory.translate(va, 1).isEmpty()) {
                        throw new VhostUserProtocolException("SET_VRING_ADDR: ring " + a.index() + " address 0x" + Long.toHexString(va) + " is in no memory region");
                    }
                }
                ring.address = a;
            }
            case VringFile f -> { vringFile(r, f, fds); }
            case MemoryTable t -> { setMemTable(t, fds); }
            case Config c -> { return config(r, c); }
        }
        return Optional.empty();
    }

    private Optional<VhostUserPayload> vringState(VhostUserRequest r, VringState s) throws VhostUserProtocolException {
        Ring ring = ring(r, s.index());
        requireOwner(r);
        switch (r) {
            case SET_VRING_NUM -> {
                if (ring.started) throw new VhostUserProtocolException("SET_VRING_NUM on running ring " + s.index());
                if (s.num() == 0 || s.num() > device.maxQueueSize() || Long.bitCount(s.num()) != 1) {
                    throw new VhostUserProtocolException("SET_VRING_NUM: size " + s.num() + " is not a power of two up to " + device.maxQueueSize());
                }
                ring.size = (int) s.num();
            }
            case SET_VRING_BASE -> {
                if (ring.started) throw new VhostUserProtocolException("SET_VRING_BASE on running ring " + s.index());
                if (s.num() > 0xffff) throw new VhostUserProtocolException("SET_VRING_BASE: index " + s.num() + " exceeds 16 bits");
                ring.base = (int) s.num();
            }
            case GET_VRING_BASE -> {
                // Stopping the ring: the device lets go of it before we read where it stopped.
                stopDevice();
                saveBases();
                ring.started = false;
                ring.queue = null;
                int at = ring.base;
                reconcile();
                closeQuietly(ring.kick);
                ring.kick = null;
                return Optional.of(new VringState(s.index(), at));
            }
            case SET_VRING_ENABLE -> {
                if (!has(features, F_PROTOCOL_FEATURES) && !protocolFeaturesSet) {
                    throw new VhostUserProtocolException("SET_VRING_ENABLE without VHOST_USER_F_PROTOCOL_FEATURES negotiated");
                }
                if (s.num() > 1) throw new VhostUserProtocolException("SET_VRING_ENABLE: " + s.num() + " is neither 0 nor 1");
                ring.enabled = s.num() == 1;
                reconcile();
            }
            default -> throw new VhostUserProtocolException(r + ": unexpected ring-state payload");
        }
        return Optional.empty();
    }

    private void vringFile(VhostUserRequest r, VringFile f, int[] fds) throws VhostUserProtocolException {
        Ring ring = ring(r, f.index());
        requireOwner(r);
        if (r == VhostUserRequest.SET_VRING_KICK) {
            if (f.noFd()) throw new VhostUserProtocolException("SET_VRING_KICK without a descriptor (polling) is not supported");
            if (memory == null || ring.address == null || ring.size == 0) {
                throw new VhostUserProtocolException("SET_VRING_KICK for ring " + f.index() + " before its memory table, size and addresses");
            }
        }
        // From here on the descriptor is ours: nothing below refuses the message.
        int received = f.noFd() ? -1 : fds[0];
        fdsKept = true;
        switch (r) {
            case SET_VRING_KICK -> {
                stopDevice();
                saveBases();
                ring.started = false;
                closeQuietly(ring.kick);
                ring.kick = new PeerKick(received);
                ring.queue = null;
                ring.started = true;
                reconcile();
            }
            case SET_VRING_CALL -> { PeerCall old = ring.call; ring.call = received < 0 ? null : new PeerCall(received); closeQuietly(old); }
            case SET_VRING_ERR -> { PeerCall old = ring.err; ring.err = received < 0 ? null : new PeerCall(received); closeQuietly(old); }
            default -> throw new VhostUserProtocolException(r + ": unexpected ring-descriptor payload");
        }
    }

    private void setMemTable(MemoryTable t, int[] fds) throws VhostUserProtocolException {
        requireOwner(VhostUserRequest.SET_MEM_TABLE);
        List<Region> regions = t.regions();
        for (int i = 0; i < regions.size(); i++) {
            Region a = regions.get(i);
            if (a.size() <= 0 || a.mmapOffset() < 0 || a.guestAddress() < 0 || a.userAddress() == 0
                    || Long.MAX_VALUE - a.size() < a.guestAddress() || Long.MAX_VALUE - a.size() < a.mmapOffset()
                    || Long.compareUnsigned(-1L - a.size(), a.userAddress()) < 0) {
                throw new VhostUserProtocolException("SET_MEM_TABLE: region " + i + " " + a + " is empty or wraps around");
            }
            for (int j = 0; j < i; j++) {
                Region b = regions.get(j);
                if (a.guestAddress() < b.guestEnd() && b.guestAddress() < a.guestEnd()) {
                        throw new VhostUserProtocolException("SET_MEM_TABLE: regions " + j + " and " + i + " overlap in guest memory");
                }
            }
        }
        List<MemorySegment> mappings = new ArrayList<>();
        List<MemoryRegion> mapped = new ArrayList<>();
        try {
            for (int i = 0; i < regions.size(); i++) {
                Region region = regions.get(i);
                // A mapping past the end of its file would raise SIGBUS on first touch: refuse it here.
                long fileSize = Posix.fileSize(fds[i]);
                if (region.mmapOffset() + region.size() > fileSize) {
                    throw new IllegalArgumentException("region " + i + " ends at byte " + (region.mmapOffset() + region.size())
                            + " of a descriptor of only " + fileSize + " bytes");
                }
                // Like libvhost-user: map from offset 0 so the offset needs no page alignment.
                MemorySegment whole = Posix.mapShared(fds[i], 0, region.mmapOffset() + region.size());
                mappings.add(whole);
                mapped.add(new MemoryRegion(region.guestAddress(), whole.asSlice(region.mmapOffset(), region.size()), fds[i], region.mmapOffset()));
            }
        } catch (RuntimeException e) {
            mappings.forEach(VhostUserBackend::unmapQuietly);
            throw new VhostUserProtocolException("SET_MEM_TABLE: cannot map the regions: " + e.getMessage());
        }
        int[] owned = fds.clone();
        GuestMemory guest = new GuestMemory(mapped, () -> {
            mappings.forEach(VhostUserBackend::unmapQuietly);
            for (int fd : owned) closeFdQuietly(fd);
        });
        fdsKept = true;
        // Running rings move to the new table where they stand.
        boolean running = deviceActive;
        stopDevice();
        saveBases();
        for (Ring ring : rings) ring.queue = null;
        Mapping old = memory;
        memory = new Mapping(guest, regions);
        if (old != null) old.memory().close();
        if (running) reconcile();
    }

    private Optional<VhostUserPayload> config(VhostUserRequest r, Config c) throws VhostUserProtocolException {
        if (!has(protocolFeatures, PF_CONFIG)) throw new VhostUserProtocolException(r + " without VHOST_USER_PROTOCOL_F_CONFIG negotiated");
        byte[] data = c.data();
        int size = device.configSize();
        if (r == VhostUserRequest.GET_CONFIG) {
            // Bytes past the device's space read as zero, as a longer struct's unknown tail would.
            for (int i = 0; i < data.length; i++) {
                int at = c.offset() + i;
                data[i] = at < size ? (byte) device.readConfig(at, 1) : 0;
            }
            return Optional.of(new Config(c.offset(), c.flags(), data));
        }
        for (int i = 0; i < data.length; i++) {
            int at = c.offset() + i;
            if (at < size) device.writeConfig(at, 1, data[i] & 0xff);
        }
        return Optional.empty();
    }

    /**
     * Makes the device serve the running rings: stops it, then activates it once every one of its rings
     * runs. A device with two queues (virtio-net, virtio-console) must not be activated with the first alone
     * while the front-end is still setting up the second: it would rightly fail for the missing queue. (QEMU's
     * vhost-user-net, whose rings run without SET_VRING_ENABLE, starts ring 0 before it sets up ring 1.)
     */
    private void reconcile() throws VhostUserProtocolException {
        stopDevice();
        boolean needEnable = has(features, F_PROTOCOL_FEATURES);
        List<ActiveQueue> queues = new ArrayList<>();
        for (int i = 0; i < rings.length; i++) {
            Ring ring = rings[i];
            boolean running = ring.started && (ring.enabled != null ? ring.enabled : !needEnable);
            if (!running && ring.address != null && ring.size != 0) return;
            if (!running) continue;
            if (ring.queue == null) ring.queue = newQueue(i, ring);
            queues.add(new ActiveQueue(i, ring.queue, ring.kick));
        }
        if (queues.size() < rings.length || deviceFailed) return;
        device.activate(new Context(memory.memory(), features & ~(1L << F_PROTOCOL_FEATURES), List.copyOf(queues)));
        deviceActive = true;
    }

    private SplitQueue newQueue(int index, Ring ring) throws VhostUserProtocolException {
        VringAddress a = ring.address;
        QueueLayout layout = new QueueLayout(ring.size,
                gpa(a.descriptorTable(), 16L * ring.size, index, "descriptor table"),
                gpa(a.availableRing(), 6 + 2L * ring.size, index, "available ring"),
                gpa(a.usedRing(), 6 + 8L * ring.size, index, "used ring"));
        try {
            SplitQueue q = new SplitQueue(memory.memory(), layout, device.maxQueueSize(),
                    has(features, VirtioFeatures.RING_INDIRECT_DESC), has(features, VirtioFeatures.RING_EVENT_IDX));
            // The used index in memory says where the previous server stopped writing; the base where it stopped taking.
            q.resumeAt(ring.base, memory.memory().read16(layout.usedRing() + 2));
            return q;
        } catch (QueueException e) {
            throw new VhostUserProtocolException("ring " + index + ": " + e.getMessage());
        }
    }

    private long gpa(long va, long length, int index, String what) throws VhostUserProtocolException {
        return memory.translate(va, length).orElseThrow(() -> new VhostUserProtocolException(
                "ring " + index + ": the " + what + " at 0x" + Long.toHexString(va) + " does not lie in one memory region"));
    }

    /**
     * Records where each ring's queue stands, so that a queue rebuilt later resumes there. Only while
     * the device is stopped: its workers move the indices.
     */
    private void saveBases() {
        for (Ring ring : rings) if (ring.queue != null) ring.base = ring.queue.nextAvail();
    }

    private void stopDevice() {
        if (deviceActive) device.reset();
        deviceActive = false;
    }

    private void resetRings() {
        stopDevice();
        for (Ring ring : rings) {
            closeQuietly(ring.kick);
            closeQuietly(ring.call);
            closeQuietly(ring.err);
            ring.kick = null;
            ring.call = ring.err = null;
            ring.size = 0;
            ring.address = null;
            ring.base = 0;
            ring.started = false;
            ring.enabled = null;
            ring.queue = null;
        }
        deviceFailed = false;
    }

    private Ring ring(VhostUserRequest r, int index) throws VhostUserProtocolException {
        if (index < 0 || index >= rings.length) {
            throw new VhostUserProtocolException(r + ": ring " + Integer.toUnsignedString(index) + " does not exist (the device has " + rings.length + ")");
        }
        return rings[index];
    }

    private void requireOwner(VhostUserRequest r) throws VhostUserProtocolException {
        if (!owned) throw new VhostUserProtocolException(r + " before SET_OWNER");
    }

    private boolean anyStarted() {
        for (Ring ring : rings) if (ring.started) return true;
        return false;
    }

    private static boolean has(long bits, int bit) {
        return (bits & (1L << bit)) != 0;
    }

    /** Stops the device and releases every descriptor and mapping; the wire is closed. Idempotent. */
    @Override
    public void close() {
        try {
            resetRings();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, device.name() + ": reset on close failed", e);
        }
        if (memory != null) memory.memory().close();
        memory = null;
        wire.close();
    }

    private static void closeQuietly(EventNotifier n) {
        if (n != null) n.close();
    }

    private static void closeFdQuietly(int fd) {
        try {
            Posix.close(fd);
        } catch (RuntimeException ignored) {
            // Already gone; nothing else to release.
        }
    }

    private static void unmapQuietly(MemorySegment m) {
        try {
            Posix.unmap(m);
        } catch (RuntimeException ignored) {
            // Unmapping a mapping we made cannot meaningfully fail; never let it mask the real error.
        }
    }

    /** What the device sees of the connection: the shared memory, the features, and the call descriptors. */
    private final class Context implements DeviceContext {
        private final GuestMemory memory;
        private final long features;
        private final List<ActiveQueue> queues;

        Context(GuestMemory memory, long features, List<ActiveQueue> queues) {
            this.memory = memory;
            this.features = features;
            this.queues = queues;
        }

        @Override public GuestMemory memory() { return memory; }
        @Override public long features() { return features; }
        @Override public List<ActiveQueue> queues() { return queues; }

        @Override
        public void signalUsed() {
            // DeviceContext does not say which queue; a spurious call on another queue is harmless.
            for (ActiveQueue q : queues) signal(rings[q.index()].call);
        }

        @Override
        public void fail(String reason) {
            deviceFailed = true;
            LOG.warning(device.name() + ": device failed, signalling the front-end's error descriptors: " + reason);
            for (ActiveQueue q : queues) signal(rings[q.index()].err);
        }

        private void signal(EventNotifier fd) {
            if (fd == null) return;
            try {
                fd.signal();
            } catch (RuntimeException e) {
                // Replaced and closed by the control thread meanwhile: that notification is moot.
            }
        }
    }
}
