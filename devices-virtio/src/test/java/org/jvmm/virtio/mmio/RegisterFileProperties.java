package org.jvmm.virtio.mmio;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.jvmm.virtio.DeviceStatus;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.InProcessNotifier;

/**
 * Arbitrary guest accesses to the register window — any offset in the slot, any size, any value, any
 * order — never throw, never touch memory outside guest RAM, and keep the transport's invariants.
 */
class RegisterFileProperties {

    /** One guest access: a read or a write of {@code size} bytes at {@code offset}. */
    record Access(boolean write, long offset, int size, long value) {}

    static {
        java.util.logging.Logger.getLogger(VirtioMmioTransport.class.getName()).setLevel(java.util.logging.Level.SEVERE);
    }

    @Provide
    Arbitrary<List<Access>> accesses() {
        Arbitrary<Long> offsets = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.longs().between(0, 0x41).map(i -> i * 4)),
                Tuple.of(1, Arbitraries.longs().between(0, 0xfff)));
        Arbitrary<Long> values = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.longs().between(0, 0x10)),
                Tuple.of(2, Arbitraries.of(0x10000L, 0x11000L, 0x12000L, 0xfL, 0xbL, 0x100000000L)),
                Tuple.of(1, Arbitraries.longs()));
        Arbitrary<Access> one = Combinators.combine(Arbitraries.of(true, true, false), offsets, Arbitraries.of(1, 2, 4, 4, 4, 8), values)
                .as(Access::new);
        return one.list().ofMaxSize(60);
    }

    @Property(tries = 10000)
    void anyAccessSequenceIsHandled(@ForAll("accesses") List<Access> accesses) {
        try (GuestRam ram = new GuestRam(0x10000, 0x10000)) {
            FakeDevice device = new FakeDevice(2);
            LevelIrq irq = new LevelIrq();
            VirtioMmioTransport t = new VirtioMmioTransport("prop", device, ram.memory, irq,
                    List.of(new InProcessNotifier(), new InProcessNotifier()));
            for (Access a : accesses) {
                if (a.write()) t.write(a.offset(), a.size(), a.value());
                else t.read(a.offset(), a.size());
                int status = (int) t.read(VirtioMmioRegisters.STATUS, 4);
                int interrupts = (int) t.read(VirtioMmioRegisters.INTERRUPT_STATUS, 4);
                assertEquals(interrupts != 0, irq.level, "line level follows InterruptStatus");
                assertEquals(0, interrupts & ~3, "only the two defined interrupt bits");
                assertEquals(0, status & 0x30, "no undefined status bits");
                if (device.context != null) {
                    assertTrue((status & DeviceStatus.DRIVER_OK) != 0, "the device runs only under DRIVER_OK");
                }
                if ((status & DeviceStatus.DRIVER_OK) != 0) {
                    assertTrue((status & DeviceStatus.FEATURES_OK) != 0, "DRIVER_OK without FEATURES_OK");
                }
                assertEquals(0x74726976L, t.read(VirtioMmioRegisters.MAGIC_VALUE, 4));
            }
            t.close();
            assertTrue(ram.guardsIntact());
        }
    }
}
