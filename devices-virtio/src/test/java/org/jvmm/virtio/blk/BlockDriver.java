package org.jvmm.virtio.blk;

import static org.jvmm.virtio.DeviceStatus.*;
import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;
import static org.jvmm.virtio.queue.SplitQueue.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.jvmm.core.irq.IrqLine;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.InProcessNotifier;
import org.jvmm.virtio.RingDriver;
import org.jvmm.virtio.mmio.VirtioMmioTransport;
import org.jvmm.virtio.queue.QueueLayout;

/**
 * A minimal virtio-blk driver written from the specification (§3.1.1 initialisation, §5.2.6 requests),
 * driving a {@link VirtioMmioTransport} through its registers exactly as a guest would, over simulated
 * guest RAM.
 */
final class BlockDriver implements AutoCloseable {

    static final long BASE = 0x100000, RAM = 0x100000;
    static final long DESC = BASE, AVAIL = BASE + 0x1000, USED = BASE + 0x2000;
    static final long HEADER = BASE + 0x3000, STATUS_BYTE = BASE + 0x3100, DATA = BASE + 0x10000;
    static final int QSIZE = 16;

    final GuestRam ram = new GuestRam(BASE, RAM);
    final VirtioBlock device;
    final Irq irq = new Irq();
    final VirtioMmioTransport transport;
    RingDriver ring;
    int usedSeen;

    /** Records the line level. */
    static final class Irq implements IrqLine {
        volatile boolean level;
        @Override public void set(boolean asserted) { level = asserted; }
    }

    /** What the device answered. */
    record Reply(int status, long usedLength, byte[] data) {}

    BlockDriver(VirtioBlock device) {
        this.device = device;
        this.transport = new VirtioMmioTransport("blk", device, ram.memory, irq, List.of(new InProcessNotifier()));
    }

    long reg(int r) { return transport.read(r, 4); }
    void reg(int r, long v) { transport.write(r, 4, v); }

    /** Initialises the device offering {@code features}; returns the features the device offered. */
    long start(long features) {
        reg(STATUS, 0);
        if (reg(MAGIC_VALUE) != MAGIC || reg(VERSION) != 2 || reg(DEVICE_ID) != VirtioBlock.DEVICE_TYPE) {
            throw new AssertionError("not a virtio-mmio v2 block device");
        }
        reg(STATUS, ACKNOWLEDGE);
        reg(STATUS, ACKNOWLEDGE | DRIVER);
        reg(DEVICE_FEATURES_SEL, 0);
        long offered = reg(DEVICE_FEATURES);
        reg(DEVICE_FEATURES_SEL, 1);
        offered |= reg(DEVICE_FEATURES) << 32;
        long accepted = features & offered;
        reg(DRIVER_FEATURES_SEL, 0);
        reg(DRIVER_FEATURES, accepted & 0xffffffffL);
        reg(DRIVER_FEATURES_SEL, 1);
        reg(DRIVER_FEATURES, accepted >>> 32);
        reg(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
        if ((reg(STATUS) & FEATURES_OK) == 0) throw new AssertionError("features refused");
        ram.ram().asSlice(0, 0x3000).fill((byte) 0);
        QueueLayout layout = new QueueLayout(QSIZE, DESC, AVAIL, USED);
        ring = new RingDriver(ram.memory, layout);
        usedSeen = 0;
        reg(QUEUE_SEL, 0);
        reg(QUEUE_NUM, QSIZE);
        reg(QUEUE_DESC_LOW, DESC);
        reg(QUEUE_DRIVER_LOW, AVAIL);
        reg(QUEUE_DEVICE_LOW, USED);
        reg(QUEUE_READY, 1);
        reg(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        return offered;
    }

    /**
     * Sends one request: header, then {@code out} split into {@code segments} readable descriptors (or,
     * for a device-writable request, {@code inLength} bytes split the same way), then the status byte.
     */
    Reply request(int type, long sector, byte[] out, int inLength, int segments) throws InterruptedException {
        ByteBuffer h = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(0, type).putLong(8, sector);
        ram.memory.write(HEADER, h.array());
        ram.memory.write8(STATUS_BYTE, 0xee);
        int d = 0;
        ring.descriptor(d, HEADER, 16, VIRTQ_DESC_F_NEXT, d + 1);
        d++;
        boolean writable = out == null;
        int length = writable ? inLength : out.length;
        if (!writable) ram.memory.write(DATA, out);
        else ram.ram().asSlice(DATA - BASE, Math.max(length, 1)).fill((byte) 0x5a);
        int per = segments == 0 ? 0 : (length + segments - 1) / segments;
        for (int done = 0, i = 0; i < segments && done < length; i++) {
            int n = Math.min(per, length - done);
            ring.descriptor(d, DATA + done, n, VIRTQ_DESC_F_NEXT | (writable ? VIRTQ_DESC_F_WRITE : 0), d + 1);
            d++;
            done += n;
        }
        ring.descriptor(d, STATUS_BYTE, 1, VIRTQ_DESC_F_WRITE, 0);
        // With EVENT_IDX: interrupt me when the next used entry appears (what Linux's enable_cb does).
        ring.setUsedEvent(usedSeen);
        ring.publish(0);
        reg(QUEUE_NOTIFY, 0);
        awaitUsed();
        long usedLength = ring.usedLen(usedSeen - 1);
        byte[] data = writable ? ram.memory.readBytes(DATA, length) : new byte[0];
        return new Reply(ram.memory.read8(STATUS_BYTE), usedLength, data);
    }

    /** Waits (hang guard 30 s) until the device has used one more chain, then acknowledges the interrupt. */
    void awaitUsed() throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (ring.usedIdx() == usedSeen) {
            if (System.nanoTime() > deadline) throw new AssertionError("device never answered");
            Thread.sleep(1);
        }
        usedSeen = ring.usedIdx();
        while (!irq.level) {
            if (System.nanoTime() > deadline) throw new AssertionError("no interrupt");
            Thread.sleep(1);
        }
        reg(INTERRUPT_ACK, reg(INTERRUPT_STATUS));
    }

    @Override
    public void close() {
        transport.close();
        ram.close();
    }
}
