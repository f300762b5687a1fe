package org.jvmm.virtio.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.ReceiveTransmitQueues;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.queue.BufferCursor;
import org.jvmm.virtio.queue.DescriptorChain;

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
    private final ReceiveTransmitQueues queues;

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
        this.queues = new ReceiveTransmitQueues(name(), RECEIVE_QUEUE, TRANSMIT_QUEUE, this::receive, this::transmit, input::wakeUp);
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
        queues.start(context, input::start);
    }

    @Override
    public synchronized void reset() {
        queues.stop();
    }

    private long transmit(DeviceContext context, DescriptorChain chain) {
        BufferCursor c = new BufferCursor(context.memory(), chain.readable());
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
     * Fills a receive buffer with the next input, waiting for it; the rest of a chunk that does not fit
     * stays for the next buffer. -1 once input has ended or the device stops.
     */
    private long receive(DeviceContext context, DescriptorChain chain) {
        byte[] chunk = input.take(queues::stopping);
        if (chunk == null) return -1; // the buffer goes back with the reset
        BufferCursor c = new BufferCursor(context.memory(), chain.writable());
        int n = (int) Math.min(chunk.length, c.remaining());
        c.write(Arrays.copyOf(chunk, n));
        if (n < chunk.length) input.unread(Arrays.copyOfRange(chunk, n, chunk.length));
        return n;
    }
}
