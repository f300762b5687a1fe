package org.jvmm.virtio.mmio;

import static org.jvmm.virtio.DeviceStatus.*;
import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.core.bus.BusDevice;
import org.jvmm.core.irq.IrqLine;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.virtio.ActiveQueue;
import org.jvmm.virtio.DeviceContext;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.queue.QueueException;
import org.jvmm.virtio.queue.QueueLayout;
import org.jvmm.virtio.queue.SplitQueue;

/**
 * The virtio-mmio version 2 transport (virtio 1.2 §4.2): the register file a driver programs, in front of
 * one {@link VirtioDevice}. There is no legacy (version 1) interface.
 *
 * <p>The status state machine, as this transport enforces it (§2.1, §3.1.1). A non-zero Status write may
 * only add bits; each requested bit is granted in order if its prerequisite holds, else left clear:
 * ACKNOWLEDGE always; DRIVER after ACKNOWLEDGE; FEATURES_OK after DRIVER and only if the driver's features
 * are a subset of the offer and include VIRTIO_F_VERSION_1 (otherwise the driver reads it back clear,
 * §3.1.1 step 6); DRIVER_OK after FEATURES_OK and not while DEVICE_NEEDS_RESET is set, and granting it
 * activates the device; FAILED always. Writes that would clear bits, or that set undefined bits, are
 * ignored; DEVICE_NEEDS_RESET belongs to the device. Writing 0 resets everything.
 *
 * <p>Driver features are writable only between DRIVER and FEATURES_OK. A queue's registers are writable
 * only while that queue is not ready and the device is not running (DRIVER_OK; without
 * VIRTIO_F_RING_RESET a live queue cannot be reconfigured). Writing QueueReady = 1 validates the queue
 * ({@link QueueLayout#validate}); an invalid queue stays not ready and the device enters NEEDS_RESET.
 *
 * <p>Control registers accept only aligned 32-bit accesses (§4.2.2.2); anything else reads 0 and is
 * ignored when written. Configuration space at 0x100 accepts any access that fits inside it.
 *
 * <p>Device errors ({@link DeviceContext#fail}) set DEVICE_NEEDS_RESET, log the reason and, once the
 * driver is running, raise a configuration-change interrupt (§2.1.2). The interrupt line is
 * level-triggered: it is high exactly while InterruptStatus is non-zero.
 *
 * <p>Threading: register accesses come from vCPU threads, serialised by the bus; device threads only
 * raise interrupts and report errors, through paths that never take the bus lock.
 */
public final class VirtioMmioTransport implements BusDevice, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(VirtioMmioTransport.class.getName());
    /** "JVMM" in little-endian ASCII; §4.2.2 leaves the vendor ID to the implementation. */
    public static final int VENDOR = 0x4d4d564a;
    /** How many NEEDS_RESET reasons are logged as warnings before a hostile guest is only logged at FINE. */
    private static final int LOUD_ERRORS = 10;

    private final String name;
    private final VirtioDevice device;
    private final GuestMemory memory;
    private final List<EventNotifier> kicks;
    private final Interrupt interrupt;
    private final QueueRegisters[] queues;
    private final AtomicInteger status = new AtomicInteger();
    private final AtomicInteger configGeneration = new AtomicInteger();
    private final AtomicInteger errors = new AtomicInteger();
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;
    private Context active;

    /** The driver-programmed registers of one queue. */
    private static final class QueueRegisters {
        int size;
        boolean ready;
        long desc;
        long driver;
        long device;
    }

    /**
     * Puts {@code device} behind a register file called {@code name}, raising {@code irq} and signalling
     * {@code kicks.get(i)} when the driver notifies queue {@code i}.
     */
    public VirtioMmioTransport(String name, VirtioDevice device, GuestMemory memory, IrqLine irq,
                               List<EventNotifier> kicks) {
        if (kicks.size() != device.queueCount()) {
            throw new IllegalArgumentException(name + ": " + kicks.size() + " kick notifiers for " + device.queueCount() + " queues");
        }
        if (!VirtioFeatures.has(device.features(), VirtioFeatures.VERSION_1)) {
            throw new IllegalArgumentException(name + ": a virtio-mmio v2 device must offer VIRTIO_F_VERSION_1");
        }
        this.name = name;
        this.device = device;
        this.memory = memory;
        this.kicks = List.copyOf(kicks);
        this.interrupt = new Interrupt(irq);
        this.queues = new QueueRegisters[device.queueCount()];
        for (int i = 0; i < queues.length; i++) queues[i] = new QueueRegisters();
        clearRegisters();
    }

    @Override
    public String name() {
        return name;
    }

    /** The device behind this transport. */
    public VirtioDevice device() {
        return device;
    }

    /** The current Status register value. */
    public int status() {
        return status.get();
    }

    @Override
    public long read(long offset, int size) {
        if (offset >= CONFIG) {
            long off = offset - CONFIG;
            return off + size <= device.configSize() ? device.readConfig((int) off, size) : 0;
        }
        if (size != 4 || (offset & 3) != 0) return 0;
        QueueRegisters q = selectedQueue();
        return 0xffffffffL & switch ((int) offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION -> VERSION_2;
            case DEVICE_ID -> device.deviceType();
            case VENDOR_ID -> VENDOR;
            case DEVICE_FEATURES -> switch (deviceFeaturesSel) {
                case 0 -> (int) device.features();
                case 1 -> (int) (device.features() >>> 32);
                default -> 0;
            };
            case QUEUE_NUM_MAX -> q == null ? 0 : device.maxQueueSize();
            case QUEUE_READY -> q != null && q.ready ? 1 : 0;
            case INTERRUPT_STATUS -> interrupt.status();
            case STATUS -> status.get();
            // No shared memory regions: §4.2.2 has a non-existent region read as length -1.
            case SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH -> -1;
            case CONFIG_GENERATION -> configGeneration.get();
            default -> 0;
        };
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset >= CONFIG) {
            long off = offset - CONFIG;
            if (off + size <= device.configSize()) device.writeConfig((int) off, size, value);
            return;
        }
        if (size != 4 || (offset & 3) != 0) return;
        int v = (int) value;
        QueueRegisters q = writableQueue();
        switch ((int) offset) {
            case DEVICE_FEATURES_SEL -> deviceFeaturesSel = v;
            case DRIVER_FEATURES_SEL -> driverFeaturesSel = v;
            case DRIVER_FEATURES -> writeDriverFeatures(v);
            case QUEUE_SEL -> queueSel = v;
            case QUEUE_NUM -> { if (q != null) q.size = v; }
            case QUEUE_DESC_LOW -> { if (q != null) q.desc = low(q.desc, v); }
            case QUEUE_DESC_HIGH -> { if (q != null) q.desc = high(q.desc, v); }
            case QUEUE_DRIVER_LOW -> { if (q != null) q.driver = low(q.driver, v); }
            case QUEUE_DRIVER_HIGH -> { if (q != null) q.driver = high(q.driver, v); }
            case QUEUE_DEVICE_LOW -> { if (q != null) q.device = low(q.device, v); }
            case QUEUE_DEVICE_HIGH -> { if (q != null) q.device = high(q.device, v); }
            case QUEUE_READY -> writeQueueReady(v);
            case QUEUE_NOTIFY -> {
                if (Integer.compareUnsigned(v, kicks.size()) < 0) kicks.get(v).signal();
            }
            case INTERRUPT_ACK -> interrupt.acknowledge(v);
            case STATUS -> writeStatus(v);
            default -> { /* read-only or reserved: ignored */ }
        }
    }

    /**
     * The device's configuration changed: bumps ConfigGeneration and, once the driver runs, raises a
     * configuration-change interrupt (§2.5.1, §4.2.2).
     */
    public void notifyConfigChanged() {
        configGeneration.incrementAndGet();
        if ((status.get() & DRIVER_OK) != 0) interrupt.raise(INTERRUPT_CONFIG_CHANGE);
    }

    /** Resets the device and releases it. */
    @Override
    public void close() {
        reset();
        device.close();
    }

    private void writeDriverFeatures(int v) {
        int s = status.get();
        if ((s & DRIVER) == 0 || (s & FEATURES_OK) != 0) return;
        switch (driverFeaturesSel) {
            case 0 -> driverFeatures = (driverFeatures & 0xffffffff00000000L) | Integer.toUnsignedLong(v);
            case 1 -> driverFeatures = (driverFeatures & 0xffffffffL) | ((long) v << 32);
            default -> { /* no feature bits beyond 63 */ }
        }
    }

    private void writeQueueReady(int v) {
        QueueRegisters q = selectedQueue();
        if (q == null || (status.get() & DRIVER_OK) != 0) return;
        if (v == 0) {
            q.ready = false;
        } else if (v == 1 && !q.ready) {
            try {
                new QueueLayout(q.size, q.desc, q.driver, q.device).validate(memory, device.maxQueueSize());
                q.ready = true;
            } catch (QueueException e) {
                deviceError("queue " + queueSel + ": " + e.getMessage());
            }
        }
    }

    private void writeStatus(int v) {
        if (v == 0) {
            reset();
            return;
        }
        int current = status.get();
        int held = current & ~DEVICE_NEEDS_RESET;
        int wanted = v & ~DEVICE_NEEDS_RESET;
        int defined = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK | FAILED;
        if ((wanted & ~defined) != 0 || (wanted & held) != held) return;
        int next = held;
        if ((wanted & ACKNOWLEDGE) != 0) next |= ACKNOWLEDGE;
        if ((wanted & DRIVER) != 0 && (next & ACKNOWLEDGE) != 0) next |= DRIVER;
        if ((wanted & FEATURES_OK) != 0 && (next & FEATURES_OK) == 0 && (next & DRIVER) != 0 && featuresAcceptable()) {
            next |= FEATURES_OK;
        }
        boolean activate = false;
        if ((wanted & DRIVER_OK) != 0 && (next & DRIVER_OK) == 0 && (next & FEATURES_OK) != 0
                && (current & DEVICE_NEEDS_RESET) == 0) {
            next |= DRIVER_OK;
            activate = true;
        }
        if ((wanted & FAILED) != 0) next |= FAILED;
        int granted = next;
        status.updateAndGet(s -> granted | (s & DEVICE_NEEDS_RESET));
        if (activate) activate();
    }

    private boolean featuresAcceptable() {
        return (driverFeatures & ~device.features()) == 0 && VirtioFeatures.has(driverFeatures, VirtioFeatures.VERSION_1);
    }

    private void activate() {
        boolean indirect = VirtioFeatures.has(driverFeatures, VirtioFeatures.RING_INDIRECT_DESC);
        boolean eventIdx = VirtioFeatures.has(driverFeatures, VirtioFeatures.RING_EVENT_IDX);
        List<ActiveQueue> ready = new ArrayList<>();
        for (int i = 0; i < queues.length; i++) {
            QueueRegisters q = queues[i];
            if (!q.ready) continue;
            try {
                QueueLayout layout = new QueueLayout(q.size, q.desc, q.driver, q.device);
                ready.add(new ActiveQueue(i, new SplitQueue(memory, layout, device.maxQueueSize(), indirect, eventIdx), kicks.get(i)));
            } catch (QueueException e) {
                deviceError("queue " + i + ": " + e.getMessage());
                return;
            }
        }
        Context context = new Context(driverFeatures, List.copyOf(ready));
        active = context;
        try {
            device.activate(context);
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, name + ": activation failed", e);
            context.fail("activation failed: " + e);
        }
    }

    private void reset() {
        Context context = active;
        active = null;
        if (context != null) interrupt.invalidate(context);
        device.reset();
        clearRegisters();
        interrupt.clear();
    }

    private void clearRegisters() {
        status.set(0);
        deviceFeaturesSel = 0;
        driverFeaturesSel = 0;
        driverFeatures = 0;
        queueSel = 0;
        for (QueueRegisters q : queues) {
            q.size = device.maxQueueSize();
            q.ready = false;
            q.desc = 0;
            q.driver = 0;
            q.device = 0;
        }
    }

    /** Sets DEVICE_NEEDS_RESET, tells a running driver, and logs why. */
    private void deviceError(String reason) {
        int before = status.getAndUpdate(s -> s | DEVICE_NEEDS_RESET);
        if ((before & DEVICE_NEEDS_RESET) != 0) return;
        Level level = errors.incrementAndGet() <= LOUD_ERRORS ? Level.WARNING : Level.FINE;
        LOG.log(level, "{0}: device needs reset: {1}", new Object[] {name, reason});
        if ((before & DRIVER_OK) != 0) interrupt.raise(INTERRUPT_CONFIG_CHANGE);
    }

    private QueueRegisters selectedQueue() {
        return Integer.compareUnsigned(queueSel, queues.length) < 0 ? queues[queueSel] : null;
    }

    private QueueRegisters writableQueue() {
        QueueRegisters q = selectedQueue();
        return q != null && !q.ready && (status.get() & DRIVER_OK) == 0 ? q : null;
    }

    private static long low(long old, int v) {
        return (old & 0xffffffff00000000L) | Integer.toUnsignedLong(v);
    }

    private static long high(long old, int v) {
        return (old & 0xffffffffL) | ((long) v << 32);
    }

    /** The activation handed to the device; dead once the transport resets. */
    private final class Context implements DeviceContext {
        private final long features;
        private final List<ActiveQueue> queues;
        private boolean valid = true; // guarded by interrupt

        Context(long features, List<ActiveQueue> queues) {
            this.features = features;
            this.queues = queues;
        }

        @Override public GuestMemory memory() { return memory; }
        @Override public long features() { return features; }
        @Override public List<ActiveQueue> queues() { return queues; }

        @Override
        public void signalUsed() {
            interrupt.raiseFor(this, INTERRUPT_USED_BUFFER);
        }

        @Override
        public void fail(String reason) {
            synchronized (interrupt) {
                if (!valid) return;
                deviceError(reason);
            }
        }
    }

    /** InterruptStatus and the level of the line it drives, kept consistent under one lock. */
    private static final class Interrupt {
        private final IrqLine line;
        private int status;

        Interrupt(IrqLine line) {
            this.line = line;
        }

        synchronized int status() {
            return status;
        }

        synchronized void raise(int bits) {
            boolean was = status != 0;
            status |= bits;
            if (!was) line.set(true);
        }

        synchronized void raiseFor(Context context, int bits) {
            if (context.valid) raise(bits);
        }

        synchronized void acknowledge(int bits) {
            boolean was = status != 0;
            status &= ~bits;
            if (was && status == 0) line.set(false);
        }

        synchronized void invalidate(Context context) {
            context.valid = false;
        }

        synchronized void clear() {
            acknowledge(-1);
        }
    }
}
