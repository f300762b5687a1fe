package org.jvmm.core.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class BusTest {

    /** A device that is a little byte array, and remembers every access it saw. */
    static final class Ram implements BusDevice {
        final String name;
        final byte[] bytes;
        final List<String> accesses = new ArrayList<>();

        Ram(String name, int size) {
            this.name = name;
            this.bytes = new byte[size];
        }

        @Override public String name() { return name; }

        @Override public long read(long offset, int size) {
            accesses.add("r" + offset + ":" + size);
            long v = 0;
            for (int i = 0; i < size; i++) v |= (bytes[(int) offset + i] & 0xffL) << (8 * i);
            return v;
        }

        @Override public void write(long offset, int size, long value) {
            accesses.add("w" + offset + ":" + size);
            for (int i = 0; i < size; i++) bytes[(int) offset + i] = (byte) (value >>> (8 * i));
        }
    }

    @Test
    void accessInsideOneDeviceGoesToItWithItsOffset() {
        Bus bus = new Bus("mmio");
        Ram a = new Ram("a", 0x100);
        bus.register(0x1000, 0x100, a);
        bus.write(0x1010, 4, 0x11223344L);
        assertEquals(0x11223344L, bus.read(0x1010, 4));
        assertEquals(0x3344L, bus.read(0x1010, 2));
        assertEquals(List.of("w16:4", "r16:4", "r16:2"), a.accesses);
        assertEquals("a", bus.describe(0x1010, 4));
    }

    @Test
    void unclaimedReadsAllOnesAndDropsWritesAndIsCounted() {
        Bus bus = new Bus("pio");
        bus.register(0x3f8, 8, new Ram("uart", 8));
        assertEquals(0xffL, bus.read(0x80, 1));
        assertEquals(0xffffffffL, bus.read(0x80, 4));
        assertEquals(-1L, bus.read(0x80, 8));
        bus.write(0x80, 1, 0x12);
        assertEquals(4, bus.unclaimedAccesses());
        assertEquals("unclaimed", bus.describe(0x80, 1));
    }

    @Test
    void straddlingAccessIsSplitIntoBytesPerDevice() {
        Bus bus = new Bus("mmio");
        Ram a = new Ram("a", 0x10);
        Ram b = new Ram("b", 0x10);
        bus.register(0x2000, 0x10, a);
        bus.register(0x2010, 0x10, b);
        bus.write(0x200e, 4, 0xddccbbaaL);
        assertEquals((byte) 0xaa, a.bytes[0xe]);
        assertEquals((byte) 0xbb, a.bytes[0xf]);
        assertEquals((byte) 0xcc, b.bytes[0]);
        assertEquals((byte) 0xdd, b.bytes[1]);
        assertEquals(0xddccbbaaL, bus.read(0x200e, 4));
        assertEquals(List.of("w14:1", "w15:1", "r14:1", "r15:1"), a.accesses);
        assertEquals(2, bus.straddlingAccesses());
        assertEquals("straddling", bus.describe(0x200e, 4));
    }

    @Test
    void straddlingIntoNothingReadsAllOnesForTheMissingBytes() {
        Bus bus = new Bus("mmio");
        Ram a = new Ram("a", 0x10);
        bus.register(0x3000, 0x10, a);
        a.bytes[0xf] = 0x42;
        assertEquals(0xffffff42L, bus.read(0x300f, 4));
        // An access that starts in a hole and ends inside a device is a straddle too, not unclaimed.
        a.bytes[0] = 0x17;
        assertEquals(0x17ffL, bus.read(0x2fff, 2));
        assertEquals(2, bus.straddlingAccesses());
        assertEquals(0, bus.unclaimedAccesses());
    }

    @Test
    void overlappingRegistrationIsRejected() {
        Bus bus = new Bus("mmio");
        bus.register(0x1000, 0x100, new Ram("a", 0x100));
        assertThrows(IllegalArgumentException.class, () -> bus.register(0x10ff, 0x10, new Ram("b", 0x10)));
        assertThrows(IllegalArgumentException.class, () -> bus.register(0xf00, 0x101, new Ram("c", 0x101)));
        assertThrows(IllegalArgumentException.class, () -> bus.register(0x5000, 0, new Ram("d", 1)));
        bus.register(0x1100, 0x10, new Ram("e", 0x10)); // adjacent is fine
    }

    /** Whatever a guest does, a device only ever sees offsets and sizes inside its own range. */
    @Property(tries = 10000)
    void devicesOnlySeeAccessesInsideTheirRange(@ForAll @LongRange(min = 0x0f00, max = 0x1300) long address,
                                                @ForAll @IntRange(min = 0, max = 3) int sizeLog,
                                                @ForAll long value, @ForAll boolean write) {
        int size = 1 << sizeLog;
        Bus bus = new Bus("mmio");
        BusDevice strict1 = new StrictDevice("a", 0x100);
        BusDevice strict2 = new StrictDevice("b", 0x80);
        bus.register(0x1000, 0x100, strict1);
        bus.register(0x1100, 0x80, strict2);
        if (write) bus.write(address, size, value);
        else {
            long v = bus.read(address, size);
            if (size < 8) assertEquals(0, v >>> (8 * size), "read value wider than the access");
        }
    }

    private record StrictDevice(String name, long length) implements BusDevice {
        @Override public long read(long offset, int size) {
            check(offset, size);
            return -1L; // the bus must mask this to the access size
        }
        @Override public void write(long offset, int size, long value) {
            check(offset, size);
            if (size < 8 && (value >>> (8 * size)) != 0) throw new AssertionError("unmasked write value");
        }
        private void check(long offset, int size) {
            if (offset < 0 || offset + size > length) throw new AssertionError(name + " saw " + offset + "+" + size);
        }
    }
}
