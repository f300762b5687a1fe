package org.jvmm.x86.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.sys.linux.kvm.KvmRun;

/**
 * The exit decoder on hand-made {@code kvm_run} contents: whatever sizes, counts and offsets it holds,
 * decoding never reaches outside the mapping and never throws; valid exits decode to exactly what the
 * fields say. Offsets below are those of {@code struct kvm_run} in {@code <linux/kvm.h>}, written out
 * independently of {@link KvmRun}.
 */
class X86ExitDecoderPropertiesTest {

    private static final int MAPPING = 2 * 4096; // kvm_run page + the PIO data page
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static MemorySegment ioRun(Arena a, boolean out, int size, int port, int count, long offset) {
        MemorySegment m = a.allocate(MAPPING, 8);
        m.set(U32, 8, KvmRun.KVM_EXIT_IO);
        m.set(ValueLayout.JAVA_BYTE, 32, (byte) (out ? 1 : 0));
        m.set(ValueLayout.JAVA_BYTE, 33, (byte) size);
        m.set(U16, 34, (short) port);
        m.set(U32, 36, count);
        m.set(U64, 40, offset);
        return m;
    }

    private static List<VcpuExit> drain(X86ExitDecoder d, VcpuExit first, int limit) {
        List<VcpuExit> all = new ArrayList<>(List.of(first));
        for (VcpuExit next; all.size() <= limit && (next = d.nextStringElement()) != null; ) all.add(next);
        return all;
    }

    @Provide
    Arbitrary<Long> offsets() {
        return Arbitraries.oneOf(Arbitraries.longs().between(0, MAPPING + 16), Arbitraries.longs(),
                Arbitraries.of(4096L, MAPPING - 1L, MAPPING - 4L, -1L, Long.MIN_VALUE, Long.MAX_VALUE));
    }

    @Provide
    Arbitrary<Integer> counts() {
        return Arbitraries.oneOf(Arbitraries.integers().between(0, 5000), Arbitraries.integers(),
                Arbitraries.of(0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE));
    }

    @Property(tries = 2000)
    void portIoStaysInsideTheMapping(@ForAll boolean out, @ForAll byte size, @ForAll("counts") int count,
                                     @ForAll("offsets") long offset, @ForAll short port) {
        try (Arena a = Arena.ofConfined()) {
            X86ExitDecoder d = new X86ExitDecoder(new KvmRun(ioRun(a, out, size, port, count, offset)));
            VcpuExit first = d.decode(() -> "registers");
            long n = Integer.toUnsignedLong(count);
            int s = Byte.toUnsignedInt(size);
            boolean valid = (s == 1 || s == 2 || s == 4) && n > 0 && offset >= 0 && offset <= MAPPING
                    && n * s <= MAPPING - offset;
            if (!valid) {
                assertInstanceOf(VcpuExit.Unhandled.class, first);
                assertNull(d.nextStringElement());
                return;
            }
            List<VcpuExit> exits = drain(d, first, (int) n);
            assertEquals(n, exits.size());
            for (VcpuExit e : exits) {
                if (out) {
                    assertInstanceOf(VcpuExit.IoOut.class, e);
                    assertEquals(Short.toUnsignedInt(port), ((VcpuExit.IoOut) e).port());
                    assertEquals(s, ((VcpuExit.IoOut) e).size());
                } else {
                    assertEquals(new VcpuExit.IoIn(Short.toUnsignedInt(port), s), e);
                }
            }
        }
    }

    @Property(tries = 500)
    void stringOutputHandsOutEachElementInOrder(@ForAll @Size(min = 1, max = 64) List<Integer> words) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = ioRun(a, true, 2, 0x44, words.size(), 4096);
            for (int i = 0; i < words.size(); i++) m.set(U16, 4096 + 2L * i, (short) (int) words.get(i));
            X86ExitDecoder d = new X86ExitDecoder(new KvmRun(m));
            List<VcpuExit> exits = drain(d, d.decode(() -> ""), words.size());
            for (int i = 0; i < words.size(); i++) {
                assertEquals(new VcpuExit.IoOut(0x44, 2, words.get(i) & 0xffff), exits.get(i));
            }
        }
    }

    @Property(tries = 500)
    void stringInputCompletesIntoTheDataArea(@ForAll @Size(min = 1, max = 64) List<Long> values,
                                             @ForAll boolean leaveLastUncompleted) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = ioRun(a, false, 4, 0x42, values.size(), 4096);
            X86ExitDecoder d = new X86ExitDecoder(new KvmRun(m));
            d.startRun();
            VcpuExit e = d.decode(() -> "");
            for (int i = 0; i < values.size(); i++) {
                if (i > 0) {
                    d.startRun();
                    e = d.nextStringElement();
                }
                assertEquals(new VcpuExit.IoIn(0x42, 4), e);
                if (!(leaveLastUncompleted && i == values.size() - 1)) d.completeRead(values.get(i));
            }
            assertNull(d.nextStringElement());
            for (int i = 0; i < values.size(); i++) {
                long expected = leaveLastUncompleted && i == values.size() - 1 ? 0xffffffffL : values.get(i) & 0xffffffffL;
                assertEquals(expected, Integer.toUnsignedLong(m.get(U32, 4096 + 4L * i)));
            }
            assertEquals(0, m.get(U32, 4096 + 4L * values.size()), "nothing written past the last element");
        }
    }

    @Property(tries = 2000)
    void mmioOfAnyLength(@ForAll int length, @ForAll boolean write, @ForAll long address, @ForAll long data,
                         @ForAll long completion) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(MAPPING, 8);
            m.set(U32, 8, KvmRun.KVM_EXIT_MMIO);
            m.set(U64, 32, address);
            m.set(U64, 40, data);
            m.set(U32, 48, length);
            m.set(ValueLayout.JAVA_BYTE, 52, (byte) (write ? 1 : 0));
            m.set(U64, 56, 0x5555555555555555L); // whatever follows the data array must stay untouched
            X86ExitDecoder d = new X86ExitDecoder(new KvmRun(m));
            VcpuExit e = d.decode(() -> "");
            if (length < 1 || length > 8) {
                assertInstanceOf(VcpuExit.Unhandled.class, e);
                return;
            }
            long mask = length == 8 ? -1L : (1L << (8 * length)) - 1;
            if (write) {
                assertEquals(new VcpuExit.MmioWrite(address, length, data & mask), e);
                d.completeRead(completion); // nothing pending: must not change the data
                assertEquals(data, m.get(U64, 40));
            } else {
                assertEquals(new VcpuExit.MmioRead(address, length), e);
                d.completeRead(completion);
                assertEquals((completion & mask) | (data & ~mask), m.get(U64, 40), "exactly `length` bytes written");
            }
            assertEquals(0x5555555555555555L, m.get(U64, 56));
        }
    }

    @Property(tries = 1000)
    void anyExitReasonDecodesWithoutThrowing(@ForAll int reason, @ForAll @Size(MAPPING) byte[] contents) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(MAPPING, 8);
            m.copyFrom(MemorySegment.ofArray(contents));
            m.set(U32, 8, reason);
            X86ExitDecoder d = new X86ExitDecoder(new KvmRun(m));
            VcpuExit e = d.decode(() -> "registers");
            for (int i = 0; i < MAPPING && d.nextStringElement() != null; i++) {
                d.completeRead(i);
            }
            switch (reason) {
                case KvmRun.KVM_EXIT_HLT -> assertEquals(new VcpuExit.Halt(), e);
                case KvmRun.KVM_EXIT_SHUTDOWN -> assertInstanceOf(VcpuExit.Shutdown.class, e);
                case KvmRun.KVM_EXIT_INTR -> assertEquals(new VcpuExit.Canceled(), e);
                case KvmRun.KVM_EXIT_FAIL_ENTRY -> assertInstanceOf(VcpuExit.FailedEntry.class, e);
                case KvmRun.KVM_EXIT_INTERNAL_ERROR -> assertInstanceOf(VcpuExit.InternalError.class, e);
                case KvmRun.KVM_EXIT_IO, KvmRun.KVM_EXIT_MMIO, KvmRun.KVM_EXIT_SYSTEM_EVENT -> { }
                default -> assertInstanceOf(VcpuExit.Unhandled.class, e);
            }
        }
    }

    @Property(tries = 200)
    void systemEvents(@ForAll int type) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(MAPPING, 8);
            m.set(U32, 8, KvmRun.KVM_EXIT_SYSTEM_EVENT);
            m.set(U32, 32, type);
            m.set(U32, 36, 1000); // ndata beyond the 16 the union holds: must be clamped
            VcpuExit e = new X86ExitDecoder(new KvmRun(m)).decode(() -> "");
            VcpuExit expected = switch (type) {
                case 1 -> new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.POWER_OFF);
                case 2 -> new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.RESET);
                case 3 -> new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.CRASH);
                default -> null;
            };
            if (expected != null) assertEquals(expected, e);
            else assertInstanceOf(VcpuExit.Unhandled.class, e);
        }
    }
}
