package org.jvmm.virtio.net;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.Posix;
import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.ReceiveTransmitQueues;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.queue.BufferCursor;
import org.jvmm.virtio.queue.DescriptorChain;
import org.jvmm.virtio.queue.QueueException;

/**
 * virtio-net (virtio 1.2 §5.1) with one queue pair (queue 0 receive, queue 1 transmit), a fixed MAC
 * address, the link always up, and the checksum and segmentation offloads only when the backend can
 * carry them (TAP); no control queue.
 *
 * <p>VIRTIO_NET_F_MRG_RXBUF is deliberately not offered: every frame goes into one receive chain, which
 * keeps the receive path a single copy with no partial frames to track. The cost is the guest's: Linux
 * then posts 1526-byte chains, or 64 KiB chains once it negotiates GUEST_TSO.
 *
 * <p>Receive takes the guest's buffer first and only then reads a frame from the backend, so while the
 * guest posts no buffers nothing is read and frames wait (or are dropped) in the host kernel: the VMM
 * never buffers more than the one frame in hand. A frame larger than the buffer it would go into is
 * dropped. Transmit validates each {@link VirtioNetHeader} against the negotiated features and drops
 * frames that break it; a broken ring (a {@link QueueException}) makes the device need a reset.
 */
public final class VirtioNet implements VirtioDevice {

    private static final Logger LOG = Logger.getLogger(VirtioNet.class.getName());

    /** §5.1.1: the network device's ID. */
    public static final int DEVICE_TYPE = 1;
    public static final int RECEIVE_QUEUE = 0, TRANSMIT_QUEUE = 1;
    public static final int QUEUE_SIZE = 256;
    /** §5.1.4: {@code status} bit VIRTIO_NET_S_LINK_UP. */
    public static final int S_LINK_UP = 1;

    private final NetBackend backend;
    private final byte[] config;
    /** Wakes the receive thread out of its poll when the device stops: an eventfd on Linux, a pipe on macOS. */
    private final EventNotifier wake = EventNotifier.forHost();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong droppedTransmit = new AtomicLong(), droppedReceive = new AtomicLong();
    private final ReceiveTransmitQueues queues;
    // One receive thread at a time uses these (stop joins it before the next starts). A backend with
    // headers reads header and frame into `frame`; one without reads into `bare`, and the frame is then
    // copied behind a plain header.
    private final byte[] frame = new byte[VirtioNetHeader.SIZE + VirtioNetHeader.MAX_FRAME + 1];
    private final byte[] bare;

    /** A device with address {@code mac} whose frames go through {@code backend}, which it then owns. */
    public VirtioNet(NetBackend backend, MacAddress mac) {
        this.backend = backend;
        // struct virtio_net_config: mac[6], status (le16), max_virtqueue_pairs (le16).
        this.config = new byte[10];
        System.arraycopy(mac.octets(), 0, config, 0, 6);
        config[6] = S_LINK_UP;
        config[8] = 1;
        this.bare = backend.carriesHeader() ? null : new byte[VirtioNetHeader.MAX_FRAME + 1];
        this.queues = new ReceiveTransmitQueues(name(), RECEIVE_QUEUE, TRANSMIT_QUEUE, this::receive, this::transmit, wake::signal);
    }

    @Override public int deviceType() { return DEVICE_TYPE; }
    @Override public String name() { return "virtio-net(" + backend.describe() + ")"; }
    @Override public int queueCount() { return 2; }
    @Override public int maxQueueSize() { return QUEUE_SIZE; }

    @Override
    public long features() {
        return VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
                | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) | VirtioFeatures.bit(NetFeatures.MAC)
                | VirtioFeatures.bit(NetFeatures.STATUS) | backend.offloadFeatures();
    }

    @Override public int configSize() { return config.length; }

    @Override
    public long readConfig(int offset, int size) {
        return VirtioDevice.readLittleEndian(config, offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // §5.1.4: the mac is writable only with the legacy interface or VIRTIO_NET_F_CTRL_MAC_ADDR; neither exists here.
    }

    /** Frames the guest sent that were dropped (a bad header or size). */
    public long droppedTransmit() {
        return droppedTransmit.get();
    }

    /** Frames from the host that were dropped (larger than the guest's buffer, or malformed). */
    public long droppedReceive() {
        return droppedReceive.get();
    }

    @Override
    public synchronized void activate(DeviceContext context) {
        queues.start(context, () -> {
            clearWake(); // a stop signal left from the previous reset
            backend.offloads(context.features());
        });
    }

    @Override
    public synchronized void reset() {
        backend.abortWaits(true); // a stalled host peer must not keep this (vCPU) thread waiting
        queues.stop();
        backend.abortWaits(false);
    }

    /** Resets the device and closes the backend; closing again does nothing (the transport closes its device too). */
    @Override
    public void close() {
        reset();
        if (closed.compareAndSet(false, true)) {
            backend.close();
            wake.close();
        }
    }

    private long transmit(DeviceContext context, DescriptorChain chain) {
        GuestMemory memory = context.memory();
        long negotiated = context.features();
        long length = chain.readableLength();
        if (length < VirtioNetHeader.SIZE || length > VirtioNetHeader.SIZE + VirtioNetHeader.MAX_FRAME) {
            drop(droppedTransmit, "a transmit chain of " + length + " bytes");
            return 0;
        }
        byte[] packet = new BufferCursor(memory, chain.readable()).read((int) length);
        VirtioNetHeader header;
        try {
            header = VirtioNetHeader.parseTransmit(packet, length - VirtioNetHeader.SIZE, negotiated);
        } catch (NetHeaderException e) {
            drop(droppedTransmit, e.getMessage());
            return 0;
        }
        if (backend.carriesHeader()) {
            System.arraycopy(header.encode(), 0, packet, 0, VirtioNetHeader.SIZE);
            backend.send(packet, packet.length);
        } else {
            // Only reachable with a plain header: no offload was offered, so parseTransmit refused the rest.
            backend.send(Arrays.copyOfRange(packet, VirtioNetHeader.SIZE, packet.length), packet.length - VirtioNetHeader.SIZE);
        }
        return 0;
    }

    private void drop(AtomicLong counter, String why) {
        counter.incrementAndGet();
        LOG.log(Level.FINE, () -> name() + ": dropped " + why);
    }

    /**
     * Fills a receive chain with the next frame that fits it, waiting for one; frames too large or too short
     * are dropped. -1 once the device stops or the backend has closed.
     */
    private long receive(DeviceContext context, DescriptorChain chain) {
        long room = chain.writableLength();
        while (true) {
            if (!awaitFrame()) return -1;
            int total = bare == null ? backend.receive(frame) : receivePlain(bare, frame);
            if (total < 0) {
                LOG.info(name() + ": the backend closed; no more frames will arrive");
                return -1;
            }
            if (total == 0) continue;
            if (total < VirtioNetHeader.SIZE) {
                drop(droppedReceive, "a " + total + "-byte packet from the backend");
                continue;
            }
            if (total > room) {
                drop(droppedReceive, "a " + total + "-byte packet for a " + room + "-byte buffer");
                continue;
            }
            frame[10] = 1; // num_buffers: 1 without MRG_RXBUF (§5.1.6.3.1)
            frame[11] = 0;
            new BufferCursor(context.memory(), chain.writable()).write(Arrays.copyOf(frame, total));
            return total;
        }
    }

    /**
     * Reads a header-less frame into {@code bare} and puts it, behind a plain header, into {@code frame};
     * returns the header-and-frame length, or 0 / -1 as {@link NetBackend#receive}.
     */
    private int receivePlain(byte[] bare, byte[] frame) {
        int n = backend.receive(bare);
        if (n <= 0) return n;
        System.arraycopy(VirtioNetHeader.PLAIN_RECEIVE.encode(), 0, frame, 0, VirtioNetHeader.SIZE);
        System.arraycopy(bare, 0, frame, VirtioNetHeader.SIZE, n);
        return VirtioNetHeader.SIZE + n;
    }

    /** Waits until the backend has input (true) or the device is stopping (false). */
    private boolean awaitFrame() {
        while (!queues.stopping()) {
            int[] revents = Posix.poll(new int[] {backend.fd(), wake.fd()}, Posix.POLLIN, -1);
            if (revents[1] != 0) clearWake();
            if (revents[0] != 0) return !queues.stopping();
        }
        return false;
    }

    /** Takes a pending wake-up, if there is one, without waiting. */
    private void clearWake() {
        // await() blocks on an empty eventfd, so it is called only once poll says the wake-up is there.
        if ((Posix.poll(new int[] {wake.fd()}, Posix.POLLIN, 0)[0] & Posix.POLLIN) != 0) wake.await();
    }
}
