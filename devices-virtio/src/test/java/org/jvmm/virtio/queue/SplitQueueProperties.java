package org.jvmm.virtio.queue;

import static org.jvmm.virtio.queue.SplitQueue.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.RingDriver;

/**
 * Hostile-input properties of the split virtqueue: whatever the guest writes into its rings and
 * descriptor tables, the device side only ever returns validated chains or throws QueueException,
 * terminates, and touches nothing outside guest RAM.
 */
class SplitQueueProperties {

    static final long BASE = 0x10000;
    static final long SIZE = 0x8000;

    /**
     * Fills RAM with descriptor-shaped garbage: each 16-byte record has an address that is often inside
     * RAM (sometimes just past it, sometimes anything), a length that is often small and sometimes huge,
     * random flags (all three defined bits and some undefined ones) and a next index near the table size.
     * This reaches deep into the walker (indirect tables, loops, long chains), which uniform random bytes
     * rarely would.
     */
    static void fillHostile(GuestMemory memory, long seed, int queueSize) {
        Random r = new Random(seed);
        for (long at = BASE; at + 16 <= BASE + SIZE; at += 16) {
            long address = switch (r.nextInt(6)) {
                case 0 -> r.nextLong();
                case 1 -> BASE + SIZE - r.nextInt(64);
                case 2 -> BASE - r.nextInt(64);
                default -> BASE + (r.nextInt((int) SIZE) & ~0xf);
            };
            long length = switch (r.nextInt(5)) {
                case 0 -> r.nextInt() & 0xffffffffL;
                case 1 -> 16L * (1 + r.nextInt(2 * queueSize + 2));
                default -> r.nextInt(64);
            };
            int flags = r.nextInt(8) | (r.nextInt(16) == 0 ? r.nextInt(0x10000) : 0);
            int next = r.nextInt(4) == 0 ? r.nextInt(0x10000) : r.nextInt(queueSize + 2);
            memory.write64(at, address);
            memory.write32(at + 8, length);
            memory.write16(at + 12, flags);
            memory.write16(at + 14, next);
        }
    }

    @Provide
    Arbitrary<Integer> queueSizes() {
        return Arbitraries.of(1, 2, 4, 8, 16, 64, 256);
    }

    @Property(tries = 10000)
    void hostileRingsYieldOnlyValidChainsOrQueueErrors(
            @ForAll("queueSizes") int size, @ForAll long seed, @ForAll boolean indirect, @ForAll boolean eventIdx,
            @ForAll @IntRange(min = 0, max = 0xffff) int availIdx) throws QueueException {
        try (GuestRam ram = new GuestRam(BASE, SIZE)) {
            GuestMemory m = ram.memory;
            fillHostile(m, seed, size);
            // The rings sit at the start of RAM, over the garbage; the available ring is garbage too.
            QueueLayout layout = new QueueLayout(size, BASE, BASE + 0x1000, BASE + 0x2000);
            Random r = new Random(seed ^ 0x5eed);
            // Heads are mostly inside the table, and the index mostly within a queue's reach.
            for (int i = 0; i < size; i++) {
                m.write16(layout.availableRing() + 4 + 2L * i, r.nextInt(8) == 0 ? r.nextInt(0x10000) : r.nextInt(size));
            }
            new RingDriver(m, layout).setAvailIdx(availIdx % 4 == 0 ? availIdx : availIdx % (size + 2));
            SplitQueue q = new SplitQueue(m, layout, 256, indirect, eventIdx);
            String outcome = "empty";
            for (int round = 0; round < 2 * size + 2; round++) {
                DescriptorChain chain;
                try {
                    chain = q.pop();
                } catch (QueueException expected) {
                    outcome = round == 0 ? "error" : "chains then error";
                    break;
                }
                if (chain == null) break;
                outcome = "chains";
                assertTrue(chain.head() >= 0 && chain.head() < size);
                assertTrue(chain.readable().size() + chain.writable().size() <= size + 65536);
                for (Buffer b : chain.readable()) assertTrue(m.contains(b.address(), b.length()), b.toString());
                for (Buffer b : chain.writable()) assertTrue(m.contains(b.address(), b.length()), b.toString());
                q.addUsed(chain.head(), r.nextInt() & 0xffffffffL);
                q.needsNotification();
                q.enableNotification();
                q.disableNotification();
            }
            assertTrue(ram.guardsIntact(), "a write escaped guest RAM");
            Statistics.label("outcome").collect(outcome);
        }
    }

    /** One buffer of a well-formed chain, as the driver means it. */
    record Segment(int length, boolean writable) {}

    @Provide
    Arbitrary<List<Segment>> wellFormedChains() {
        Arbitrary<Segment> readable = Arbitraries.integers().between(0, 256).map(l -> new Segment(l, false));
        Arbitrary<Segment> writable = Arbitraries.integers().between(0, 256).map(l -> new Segment(l, true));
        return Combinators.combine(readable.list().ofMaxSize(8), writable.list().ofMaxSize(8))
                .filter((a, b) -> a.size() + b.size() > 0)
                .as((a, b) -> {
                    List<Segment> all = new ArrayList<>(a);
                    all.addAll(b);
                    return all;
                });
    }

    @Property(tries = 10000)
    void wellFormedChainsAreWalkedExactly(@ForAll("wellFormedChains") List<Segment> segments, @ForAll boolean viaIndirect,
                                          @ForAll long seed) throws QueueException {
        try (GuestRam ram = new GuestRam(BASE, SIZE)) {
            GuestMemory m = ram.memory;
            int size = 16;
            QueueLayout layout = new QueueLayout(size, BASE, BASE + 0x1000, BASE + 0x2000);
            RingDriver driver = new RingDriver(m, layout);
            long table = viaIndirect ? BASE + 0x3000 : BASE;
            int entries = viaIndirect ? segments.size() + 3 : size;
            // Scatter the chain over random distinct slots of its table.
            List<Integer> slots = new ArrayList<>();
            for (int i = 0; i < entries; i++) slots.add(i);
            java.util.Collections.shuffle(slots, new Random(seed));
            // An indirect table's chain starts at its entry 0 (§2.7.5.3.2).
            if (viaIndirect) java.util.Collections.swap(slots, 0, slots.indexOf(0));
            List<Buffer> readable = new ArrayList<>(), writable = new ArrayList<>();
            long data = BASE + 0x4000;
            for (int i = 0; i < segments.size(); i++) {
                Segment s = segments.get(i);
                boolean last = i == segments.size() - 1;
                int flags = (s.writable() ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT);
                RingDriver.descriptor(m, table, slots.get(i), data, s.length(), flags, last ? 0 : slots.get(i + 1));
                (s.writable() ? writable : readable).add(new Buffer(data, s.length()));
                data += s.length();
            }
            int head = slots.get(0);
            if (viaIndirect) {
                head = 5;
                driver.descriptor(head, table, 16L * entries, VIRTQ_DESC_F_INDIRECT, 0);
            }
            driver.publish(head);
            DescriptorChain chain = new SplitQueue(m, layout, 256, true, false).pop();
            assertEquals(head, chain.head());
            assertEquals(readable, chain.readable());
            assertEquals(writable, chain.writable());
        }
    }

    @Property(tries = 10000)
    void anAvailableIndexBeyondAQueueAheadIsAnError(@ForAll("queueSizes") int size,
                                                     @ForAll @IntRange(min = 0, max = 0xffff) int availIdx) throws QueueException {
        try (GuestRam ram = new GuestRam(BASE, SIZE)) {
            QueueLayout layout = new QueueLayout(size, BASE, BASE + 0x1000, BASE + 0x2000);
            RingDriver driver = new RingDriver(ram.memory, layout);
            for (int i = 0; i < size; i++) driver.descriptor(i, BASE + 0x4000, 16, 0, 0);
            driver.setAvailIdx(availIdx);
            SplitQueue q = new SplitQueue(ram.memory, layout, 256, false, false);
            if (availIdx > size) {
                assertThrows(QueueException.class, q::pop);
            } else {
                for (int i = 0; i < availIdx; i++) assertNotNull(q.pop());
                assertNull(q.pop());
            }
        }
    }

    @Property(tries = 10000)
    void needEventMatchesTheWindowDefinition(@ForAll @IntRange(min = 0, max = 0xffff) int event,
                                             @ForAll @IntRange(min = 0, max = 0xffff) int old,
                                             @ForAll @LongRange(min = 0, max = 600) long advance) {
        int now = (int) ((old + advance) & 0xffff);
        boolean crossed = false;
        for (long i = 0; i < advance; i++) {
            if (((old + i) & 0xffff) == event) crossed = true;
        }
        assertEquals(crossed, SplitQueue.needEvent(event, now, old));
    }
}
