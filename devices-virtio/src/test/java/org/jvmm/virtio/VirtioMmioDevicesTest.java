package org.jvmm.virtio;

import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.IoEventAddress;
import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.irq.IrqLine;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VirtioMmioDevicesTest {

    static final long SLOTS = 0xd000_0000L, SLOT = 0x1000;

    /** A VM that records what devices ask of it. */
    static final class RecordingVm implements Vm {
        final GuestRam ram = new GuestRam(0x10000, 0x10000);
        final boolean ioEvents;
        final List<IoEventAddress> registered = new ArrayList<>();
        final Map<Integer, Boolean> lines = new HashMap<>();

        RecordingVm(boolean ioEvents) { this.ioEvents = ioEvents; }

        @Override public GuestMemory memory() { return ram.memory; }
        @Override public Vcpu createVcpu(int id) { throw new UnsupportedOperationException(); }
        @Override public IrqLine irqLine(int gsi) { return level -> lines.put(gsi, level); }
        @Override public boolean supportsIoEvents() { return ioEvents; }
        @Override public void registerIoEvent(EventNotifier n, IoEventAddress a) { registered.add(a); }
        @Override public void unregisterIoEvent(EventNotifier n, IoEventAddress a) { registered.remove(a); }
        @Override public void registerIrqNotifier(EventNotifier n, int gsi) { throw new UnsupportedOperationException(); }
        @Override public void close() { ram.close(); }
    }

    @TempDir Path dir;

    VirtioBlock disk(String name) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, new byte[4096]);
        return new VirtioBlock(DiskImage.open(p, false));
    }

    @Test
    void placesDevicesInConsecutiveSlotsWithTheirInterrupts() throws Exception {
        RecordingVm vm = new RecordingVm(false);
        Bus mmio = new Bus("mmio");
        List<AutoCloseable> resources = new ArrayList<>();
        VirtioMmioDevices devices = new VirtioMmioDevices(SLOTS, SLOT, List.of(5, 6, 7)).add(disk("a.img")).add(disk("b.img"));
        List<DeviceDescription> described = devices.attach(vm, mmio, resources::add);
        assertEquals(List.of(new DeviceDescription("virtio-mmio", SLOTS, SLOT, 5),
                new DeviceDescription("virtio-mmio", SLOTS + SLOT, SLOT, 6)), described);
        assertEquals(MAGIC, mmio.read(SLOTS + SLOT + MAGIC_VALUE, 4));
        assertEquals(VirtioBlock.DEVICE_TYPE, mmio.read(SLOTS + DEVICE_ID, 4));
        assertEquals(0xffffffffL, mmio.read(SLOTS + 2 * SLOT, 4), "the third slot is empty");
        assertTrue(vm.registered.isEmpty(), "no ioevents without a notifier factory");
        for (AutoCloseable r : resources.reversed()) r.close();
        vm.close();
    }

    @Test
    void registersQueueNotifyAsAnIoEventWhenTheHypervisorCan() throws Exception {
        RecordingVm vm = new RecordingVm(true);
        List<AutoCloseable> resources = new ArrayList<>();
        new VirtioMmioDevices(SLOTS, SLOT, List.of(5), EventFd::new).add(disk("a.img"))
                .attach(vm, new Bus("mmio"), resources::add);
        assertEquals(List.of(IoEventAddress.mmio(SLOTS + QUEUE_NOTIFY, 4, 0)), vm.registered);
        for (AutoCloseable r : resources.reversed()) r.close();
        assertTrue(vm.registered.isEmpty(), "closing unregisters");
        vm.close();
    }

    @Test
    void tooManyDevicesIsAConfigurationError() throws Exception {
        VirtioMmioDevices devices = new VirtioMmioDevices(SLOTS, SLOT, List.of(5)).add(disk("a.img"));
        VirtioBlock extra = disk("b.img");
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> devices.add(extra));
        assertTrue(e.getMessage().startsWith("Too many virtio devices"), e.getMessage());
        extra.close();
    }

    @Test
    void slotsMustHoldTheRegisterFile() {
        assertThrows(IllegalArgumentException.class, () -> new VirtioMmioDevices(SLOTS, 0x100, List.of(5)));
        assertThrows(IllegalArgumentException.class, () -> new VirtioMmioDevices(SLOTS + 0x200, SLOT, List.of(5)));
    }
}
