package org.jvmm.virtio.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.virtio.ActiveQueue;
import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.QueueWorker;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.queue.BufferCursor;
import org.jvmm.virtio.queue.DescriptorChain;
import org.jvmm.virtio.queue.QueueException;
import org.jvmm.virtio.queue.SplitQueue;

/**
 * virtio-console (virtio 1.2 §5.3) with a single port (no VIRTIO_CONSOLE_F_MULTIPORT): queue 0 carries
 * input to the guest, queue 1 output from it. Linux binds it as {@code hvc0}.
 *
 * <p>Output: every readable byte of a transmit chain goes to the output stream, in order; writable
 * buffers in a transmit chain are ignored. Input: bytes from the input stream fill the guest's receive
 * buffers as it posts them; while it posts none, input is not read further (see {@link InputPump}), so
 * host buffering stays bounded (one chunk). A chain with no writable bytes is returned empty. When input
 * ends, posted receive buffers are simply held. The console size (VIRTIO_CONSOLE_F_SIZE) is fixed at construction.
 */
public final class VirtioConsole implements VirtioDevice {

    private static final Logger LOG = Logger.getLogger(VirtioConsole.class.getName());

    /** §5.3.1: the console's device ID. */
    public static final int DEVICE_TYPE = 3;
    /** §5.3.3: the configuration space's cols and rows are valid. */
    public static final int F_SIZE = 0;
    public static final int RECEIVE_QUEUE = 0, TRANSMIT_QUEUE = 1;
    public static final int QUEUE_SIZE = 256;

    private final OutputStream out;
    private final InputPump input;
    private final byte[] config;
    private DeviceContext context;
    private QueueWorker transmit;
    private Thread receive;
    private volatile boolean stopping;

    /** A console reading {@code in} and writing {@code out}, reporting {@code cols} x {@code rows}. */
    public VirtioConsole(InputStream in, OutputStream out, int cols, int rows) {
        this.out = out;
        this.input = new InputPump(in, "virtio-console");
        // struct virtio_console_config: cols, rows (le16), max_nr_ports, emerg_wr (le32).
        this.config = new byte[12];
        config[0] = (byte) cols;
        config[1] = (byte) (cols >>> 8);
        config[2] = (byte) rows;
        config[3] = (byte) (rows >>> 8);
    }

    @Override public int deviceType() { return DEVICE_TYPE; }
    @Override public String name() { return "virtio-console"; }
    @Override public int queueCount() { return 2; }
    @Override public int maxQueueSize() { return QUEUE_SIZE; }

    @Override
    public long features() {
        return VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
                | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) | VirtioFeatures.bit(F_SIZE);
    }

    @Override public int configSize() { return config.length; }

    @Override
    public long readConfig(int offset, int size) {
        return VirtioDevice.readLittleEndian(config, offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // emerg_wr needs VIRTIO_CONSOLE_F_EMERG_WRITE, which is not offered; the rest is read-only.
    }

    @Override
    public synchronized void activate(DeviceContext context) {
        var rx = context.queue(RECEIVE_QUEUE);
        var tx = context.queue(TRANSMIT_QUEUE);
        if (rx.isEmpty() || tx.isEmpty()) {
            context.fail("the driver did not set up both the receive and the transmit queue");
            return;
        }
        this.context = context;
        stopping = false;
        GuestMemory memory = context.memory();
        transmit = QueueWorker.start(name(), context, tx.get(), chain -> transmit(memory, chain));
        ActiveQueue rq = rx.get();
        receive = Thread.ofPlatform().daemon().name(name() + "-q0").start(() -> receive(context, rq));
        input.start();
    }

    @Override
    public synchronized void reset() {
        if (transmit != null) transmit.stop();
        transmit = null;
        if (receive != null) {
            stopping = true;
            receive.interrupt();
            context.queue(RECEIVE_QUEUE).ifPresent(q -> q.kick().signal());
            QueueWorker.joinUninterruptibly(receive);
        }
        receive = null;
        context = null;
    }

    private long transmit(GuestMemory memory, DescriptorChain chain) {
        BufferCursor c = new BufferCursor(memory, chain.readable());
        try {
            while (c.remaining() > 0) {
                out.write(c.read((int) Math.min(c.remaining(), 64 * 1024)));
            }
            out.flush();
        } catch (IOException e) {
            LOG.log(Level.FINE, "console output failed", e);
        }
        return 0;
    }

    /**
     * Moves input into receive buffers until stopped: waits for the driver to post a buffer, then for
     * input to put in it. Taking the buffer first means input is read only when it has somewhere to go.
     */
    private void receive(DeviceContext context, ActiveQueue rq) {
        SplitQueue q = rq.queue();
        try {
            while (!stopping) {
                DescriptorChain chain = nextBuffer(q, rq);
                if (chain == null) return;
                byte[] chunk = input.take();
                if (chunk == null) return; // stopped (or input ended): the buffer goes back with the reset
                BufferCursor c = new BufferCursor(context.memory(), chain.writable());
                int n = (int) Math.min(chunk.length, c.remaining());
                c.write(Arrays.copyOf(chunk, n));
                if (n < chunk.length) input.unread(Arrays.copyOfRange(chunk, n, chunk.length));
                q.addUsed(chain.head(), n);
                if (q.needsNotification()) context.signalUsed();
            }
        } catch (QueueException e) {
            context.fail("queue " + RECEIVE_QUEUE + ": " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "virtio-console receive failed", e);
            context.fail("queue " + RECEIVE_QUEUE + ": internal device error " + e);
        }
    }

    /** The next receive chain, waiting for the driver to post one; null if stopped meanwhile. */
    private DescriptorChain nextBuffer(SplitQueue q, ActiveQueue rq) throws QueueException {
        while (!stopping) {
            DescriptorChain chain = q.pop();
            if (chain != null) return chain;
            if (q.enableNotification()) continue;
            rq.kick().await();
        }
        return null;
    }
}
