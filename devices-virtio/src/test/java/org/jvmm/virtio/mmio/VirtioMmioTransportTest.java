package org.jvmm.virtio.mmio;

import static org.jvmm.virtio.DeviceStatus.*;
import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.InProcessNotifier;
import org.jvmm.virtio.VirtioFeatures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtioMmioTransportTest {

    static final long BASE = 0x10000;
    final GuestRam ram = new GuestRam(BASE, 0x10000);
    final FakeDevice device = new FakeDevice(2);
    final LevelIrq irq = new LevelIrq();
    final InProcessNotifier kick0 = new InProcessNotifier(), kick1 = new InProcessNotifier();
    final VirtioMmioTransport t = new VirtioMmioTransport("test", device, ram.memory, irq, List.of(kick0, kick1));

    @AfterEach
    void close() {
        ram.close();
    }

    long r(int reg) { return t.read(reg, 4); }
    void w(int reg, long v) { t.write(reg, 4, v); }

    void negotiate(long features) {
        w(STATUS, ACKNOWLEDGE);
        w(STATUS, ACKNOWLEDGE | DRIVER);
        w(DRIVER_FEATURES_SEL, 0);
        w(DRIVER_FEATURES, features & 0xffffffffL);
        w(DRIVER_FEATURES_SEL, 1);
        w(DRIVER_FEATURES, features >>> 32);
        w(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
    }

    void setUpQueue(int index, int size, long desc, long avail, long used) {
        w(QUEUE_SEL, index);
        w(QUEUE_NUM, size);
        w(QUEUE_DESC_LOW, desc);
        w(QUEUE_DESC_HIGH, desc >>> 32);
        w(QUEUE_DRIVER_LOW, avail);
        w(QUEUE_DRIVER_HIGH, avail >>> 32);
        w(QUEUE_DEVICE_LOW, used);
        w(QUEUE_DEVICE_HIGH, used >>> 32);
        w(QUEUE_READY, 1);
    }

    @Test
    void identifiesItselfAsAVersion2Device() {
        assertEquals(0x74726976L, r(MAGIC_VALUE));
        assertEquals(2, r(VERSION));
        assertEquals(42, r(DEVICE_ID));
        assertEquals(VirtioMmioTransport.VENDOR, r(VENDOR_ID));
        assertEquals(64, r(QUEUE_NUM_MAX));
        assertEquals(0xffffffffL, r(SHM_LEN_LOW));
    }

    @Test
    void featuresAreReadThroughTheSelector() {
        assertEquals(FakeDevice.FEATURES & 0xffffffffL, r(DEVICE_FEATURES));
        w(DEVICE_FEATURES_SEL, 1);
        assertEquals(FakeDevice.FEATURES >>> 32, r(DEVICE_FEATURES));
        w(DEVICE_FEATURES_SEL, 2);
        assertEquals(0, r(DEVICE_FEATURES));
    }

    @Test
    void controlRegistersNeedAligned32BitAccesses() {
        assertEquals(0, t.read(MAGIC_VALUE, 2));
        assertEquals(0, t.read(MAGIC_VALUE + 1, 4));
        t.write(STATUS, 1, ACKNOWLEDGE);
        assertEquals(0, r(STATUS));
    }

    @Test
    void configSpaceTakesAnyAccessInsideIt() {
        assertEquals(0x22, t.read(CONFIG + 1, 1));
        assertEquals(0x4433, t.read(CONFIG + 2, 2));
        assertEquals(0x88776655L, t.read(CONFIG + 4, 4));
        assertEquals(0, t.read(CONFIG + 8, 4), "past the end of configuration space");
        t.write(CONFIG + 8, 2, 0xabcd);
        assertEquals((8L << 32) | 0xabcd, device.lastConfigWrite);
        t.write(CONFIG + 9, 2, 0xabcd);
        assertEquals((8L << 32) | 0xabcd, device.lastConfigWrite, "straddling the end is ignored");
    }

    @Test
    void featuresOkNeedsVersion1AndASubsetOfTheOffer() {
        negotiate(0b1);
        assertEquals(ACKNOWLEDGE | DRIVER, r(STATUS), "no VERSION_1");
        w(STATUS, 0);
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1) | 0b10);
        assertEquals(ACKNOWLEDGE | DRIVER, r(STATUS), "bit 1 was not offered");
        w(STATUS, 0);
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1) | 0b100);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK, r(STATUS));
    }

    @Test
    void statusBitsNeedTheirPrerequisitesAndCannotBeCleared() {
        w(STATUS, DRIVER);
        assertEquals(0, r(STATUS));
        w(STATUS, ACKNOWLEDGE | DRIVER_OK);
        assertEquals(ACKNOWLEDGE, r(STATUS));
        w(STATUS, DRIVER);
        assertEquals(ACKNOWLEDGE, r(STATUS), "would clear ACKNOWLEDGE");
        w(STATUS, ACKNOWLEDGE | 0x10);
        assertEquals(ACKNOWLEDGE, r(STATUS), "undefined bit");
        assertEquals(0, device.activations);
    }

    @Test
    void driverOkActivatesTheDeviceWithItsReadyQueues() {
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX));
        setUpQueue(1, 16, BASE, BASE + 0x1000, BASE + 0x2000);
        assertEquals(1, r(QUEUE_READY));
        w(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(1, device.activations);
        assertEquals(1, device.context.queues().size());
        assertEquals(1, device.context.queues().getFirst().index());
        assertSame(kick1, device.context.queues().getFirst().kick());
        assertEquals(16, device.context.queues().getFirst().queue().layout().size());
        assertTrue(VirtioFeatures.has(device.context.features(), VirtioFeatures.RING_EVENT_IDX));
    }

    @Test
    void queueRegistersAreFrozenWhileReadyOrRunning() {
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        setUpQueue(0, 16, BASE, BASE + 0x1000, BASE + 0x2000);
        w(QUEUE_NUM, 8);
        w(QUEUE_DESC_LOW, 0);
        w(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        w(QUEUE_READY, 0);
        assertEquals(1, r(QUEUE_READY), "no VIRTIO_F_RING_RESET: a running queue stays");
        var layout = device.context.queues().getFirst().queue().layout();
        assertEquals(16, layout.size());
        assertEquals(BASE, layout.descriptorTable());
    }

    @Test
    void anInvalidQueueIsRefusedWithNeedsReset() {
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        setUpQueue(0, 16, BASE + 0x10000 - 0x80, BASE + 0x1000, BASE + 0x2000); // table runs past RAM
        assertEquals(0, r(QUEUE_READY));
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DEVICE_NEEDS_RESET, r(STATUS));
        assertEquals(0, r(INTERRUPT_STATUS), "no interrupts before DRIVER_OK");
        w(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(0, device.activations, "a device that needs a reset does not start");
        w(STATUS, 0);
        assertEquals(0, r(STATUS));
    }

    @Test
    void aDeviceErrorSetsNeedsResetAndRaisesAConfigInterrupt() {
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        setUpQueue(0, 16, BASE, BASE + 0x1000, BASE + 0x2000);
        w(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        device.context.fail("broken ring");
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK | DEVICE_NEEDS_RESET, r(STATUS));
        assertEquals(INTERRUPT_CONFIG_CHANGE, r(INTERRUPT_STATUS));
        assertTrue(irq.level);
        w(INTERRUPT_ACK, INTERRUPT_CONFIG_CHANGE);
        assertFalse(irq.level);
        assertEquals(0, r(INTERRUPT_STATUS));
    }

    @Test
    void usedInterruptsAreLevelTriggeredAndAcknowledged() {
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        setUpQueue(0, 16, BASE, BASE + 0x1000, BASE + 0x2000);
        w(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        device.context.signalUsed();
        device.context.signalUsed();
        assertTrue(irq.level);
        assertEquals(1, irq.rises);
        assertEquals(INTERRUPT_USED_BUFFER, r(INTERRUPT_STATUS));
        w(INTERRUPT_ACK, INTERRUPT_CONFIG_CHANGE);
        assertTrue(irq.level, "acknowledging another bit leaves the line up");
        w(INTERRUPT_ACK, INTERRUPT_USED_BUFFER);
        assertFalse(irq.level);
    }

    @Test
    void resetStopsTheDeviceAndForgetsEverything() {
        negotiate(VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        setUpQueue(0, 16, BASE, BASE + 0x1000, BASE + 0x2000);
        w(STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        var old = device.context;
        old.signalUsed();
        w(STATUS, 0);
        assertEquals(1, device.resets);
        assertEquals(0, r(STATUS));
        assertEquals(0, r(QUEUE_READY));
        assertEquals(0, r(INTERRUPT_STATUS));
        assertFalse(irq.level);
        old.signalUsed();
        old.fail("late");
        assertEquals(0, r(INTERRUPT_STATUS), "a stale activation cannot raise interrupts");
        assertEquals(0, r(STATUS), "nor set NEEDS_RESET");
    }

    @Test
    void queueNotifySignalsThatQueuesKick() throws InterruptedException {
        w(QUEUE_NOTIFY, 1);
        w(QUEUE_NOTIFY, 7);
        w(QUEUE_NOTIFY, -1);
        assertEquals(1, kick1.await());
        Thread t1 = Thread.ofPlatform().start(kick0::await);
        t1.join(200);
        assertTrue(t1.isAlive(), "queue 0 was never notified");
        kick0.signal();
        t1.join();
    }

    @Test
    void configGenerationCountsChanges() {
        assertEquals(0, r(CONFIG_GENERATION));
        t.notifyConfigChanged();
        assertEquals(1, r(CONFIG_GENERATION));
        assertEquals(0, r(INTERRUPT_STATUS), "the driver is not running yet");
    }
}
