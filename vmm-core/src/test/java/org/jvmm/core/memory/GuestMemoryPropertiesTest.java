package org.jvmm.core.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Guest addresses are hostile: no address/length combination may reach outside the region it names,
 * and no access may span two regions, even when their guest addresses are contiguous.
 *
 * <p>The fixture has three regions: [0x0, 0x3000) and [0x3000, 0x5000) are contiguous in guest-physical
 * space but separate mappings (like two KVM slots); [0x10000, 0x11000) stands alone. Expected results
 * come from this independent model, not from {@link GuestMemory}.
 */
class GuestMemoryPropertiesTest {

    private static final long[][] MODEL = {{0x0, 0x3000}, {0x3000, 0x2000}, {0x10000, 0x1000}};
    private static Arena arena;
    private static GuestMemory memory;

    @BeforeContainer
    static void create() {
        arena = Arena.ofShared();
        memory = new GuestMemory(List.of(
                new MemoryRegion(MODEL[2][0], arena.allocate(MODEL[2][1], 4096), -1, 0),
                new MemoryRegion(MODEL[0][0], arena.allocate(MODEL[0][1], 4096), -1, 0),
                new MemoryRegion(MODEL[1][0], arena.allocate(MODEL[1][1], 4096), -1, 0)), () -> {});
    }

    @AfterContainer
    static void release() {
        arena.close();
    }

    /** The model: the index of the region wholly containing the range, or -1. */
    private static int modelRegion(long address, long length) {
        if (address < 0 || length < 0) return -1;
        for (int i = 0; i < MODEL.length; i++) {
            long base = MODEL[i][0], size = MODEL[i][1];
            if (address >= base && address - base < size && length <= size - (address - base)) return i;
        }
        return -1;
    }

    @Provide
    Arbitrary<Long> addresses() {
        return Arbitraries.oneOf(
                Arbitraries.longs().between(-16, 0x12000),
                Arbitraries.of(0x2ff8L, 0x2ffcL, 0x2fffL, 0x3000L, 0x4ff8L, 0x4fffL, 0x5000L, 0xfff8L, 0x10ff9L,
                        0x10ff8L, Long.MAX_VALUE, Long.MAX_VALUE - 3, Long.MIN_VALUE, -1L),
                Arbitraries.longs());
    }

    @Provide
    Arbitrary<Long> lengths() {
        return Arbitraries.oneOf(Arbitraries.longs().between(-2, 0x6000),
                Arbitraries.of(0L, 1L, 8L, 0x1000L, 0x3000L, Long.MAX_VALUE, Long.MIN_VALUE), Arbitraries.longs());
    }

    @Property(tries = 3000)
    void sliceStaysInsideTheRegionItNames(@ForAll("addresses") long address, @ForAll("lengths") long length) {
        int expected = modelRegion(address, length);
        assertEquals(expected >= 0, memory.contains(address, length));
        if (expected < 0) {
            assertThrows(GuestMemoryException.class, () -> memory.slice(address, length));
            return;
        }
        MemorySegment slice = memory.slice(address, length);
        MemoryRegion region = memory.regions().stream().filter(r -> r.guestAddress() == MODEL[expected][0])
                .findFirst().orElseThrow();
        long hostStart = region.segment().address();
        assertEquals(hostStart + (address - MODEL[expected][0]), slice.address());
        assertEquals(length, slice.byteSize());
        assertTrue(slice.address() + slice.byteSize() <= hostStart + region.size());
    }

    @Property(tries = 3000)
    void sizedAccessesAreCheckedLikeTheModel(@ForAll("addresses") long address, @ForAll("sizes") int size,
                                             @ForAll long value) {
        if (modelRegion(address, size) < 0) {
            assertThrows(GuestMemoryException.class, () -> memory.read(address, size));
            assertThrows(GuestMemoryException.class, () -> memory.write(address, size, value));
            return;
        }
        memory.write(address, size, value);
        long mask = size == 8 ? -1L : (1L << (8 * size)) - 1;
        assertEquals(value & mask, memory.read(address, size));
        long littleEndian = 0;
        byte[] bytes = memory.readBytes(address, size);
        for (int i = size - 1; i >= 0; i--) littleEndian = (littleEndian << 8) | (bytes[i] & 0xff);
        assertEquals(value & mask, littleEndian);
    }

    @Provide
    Arbitrary<Integer> sizes() {
        return Arbitraries.of(1, 2, 4, 8);
    }

    @Property(tries = 500)
    void crossRegionAccessesAreRejectedEvenWhenContiguous(@ForAll("straddles") long address) {
        assertThrows(GuestMemoryException.class, () -> memory.read64(address));
        assertThrows(GuestMemoryException.class, () -> memory.write64(address, 0));
    }

    @Provide
    Arbitrary<Long> straddles() {
        return Arbitraries.longs().between(0x3000 - 7, 0x3000 - 1); // [0x0,0x3000) meets [0x3000,0x5000)
    }

    @Property(tries = 500)
    void orderedAccessorsRoundTripAndRejectUnaligned(@ForAll("addresses") long address, @ForAll int value) {
        boolean inside = modelRegion(address, 2) >= 0;
        if (!inside || (address & 1) != 0) {
            assertThrows(GuestMemoryException.class, () -> memory.read16Acquire(address));
            assertThrows(GuestMemoryException.class, () -> memory.write16Release(address, value));
            return;
        }
        memory.write16Release(address, value);
        assertEquals(value & 0xffff, memory.read16Acquire(address));
        assertEquals(value & 0xffff, memory.read16(address));
    }

    @Property(tries = 200)
    void unsupportedSizesAreRejected(@ForAll("badSizes") int size) {
        assertThrows(IllegalArgumentException.class, () -> memory.read(0, size));
        assertThrows(IllegalArgumentException.class, () -> memory.write(0, size, 0));
    }

    @Provide
    Arbitrary<Integer> badSizes() {
        return Arbitraries.integers().filter(s -> s != 1 && s != 2 && s != 4 && s != 8);
    }
}
