package org.jvmm.core.bus;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An address space of devices: the MMIO bus or the x86 port-I/O bus.
 *
 * <p>Semantics, chosen to match what a PC chipset does and to be total over hostile input:
 * <ul>
 *   <li>An access that lies wholly inside one device's range goes to that device, under that device's
 *       lock (devices are independent: two vCPUs touching different devices never wait for each other).</li>
 *   <li>An access that hits no device reads as all-ones and its writes are dropped ("unclaimed").</li>
 *   <li>An access that straddles a range boundary is split into single-byte accesses, each routed on
 *       its own (so each device sees only bytes of its own range, and the unclaimed bytes read 0xff).</li>
 * </ul>
 * Unclaimed and straddling accesses are counted ({@link #unclaimedAccesses()}, {@link #straddlingAccesses()})
 * and {@link #describe(long, int)} names the target for traces.
 *
 * <p>Registration happens during machine set-up; lookups afterwards are lock-free.
 */
public final class Bus {

    private record Entry(long base, long length, BusDevice device, ReentrantLock lock) {
        long end() { return base + length; }
    }

    private final String name;
    private volatile TreeMap<Long, Entry> ranges = new TreeMap<>();
    private final LongAdder unclaimed = new LongAdder();
    private final LongAdder straddling = new LongAdder();

    /** Creates an empty bus called {@code name} ("mmio", "pio"). */
    public Bus(String name) {
        this.name = name;
    }

    /** The bus's name. */
    public String name() {
        return name;
    }

    /**
     * Attaches {@code device} at {@code [base, base + length)}.
     *
     * @throws IllegalArgumentException if the range is empty or overlaps another device's
     */
    public synchronized void register(long base, long length, BusDevice device) {
        if (length <= 0 || base + length < base) {
            throw new IllegalArgumentException("invalid bus range 0x%x+0x%x for %s".formatted(base, length, device.name()));
        }
        TreeMap<Long, Entry> next = new TreeMap<>(ranges);
        Map.Entry<Long, Entry> below = next.floorEntry(base + length - 1);
        if (below != null && below.getValue().end() > base) {
            throw new IllegalArgumentException("%s at 0x%x+0x%x overlaps %s".formatted(
                    device.name(), base, length, below.getValue().device().name()));
        }
        next.put(base, new Entry(base, length, device, new ReentrantLock()));
        ranges = next;
    }

    /** Reads {@code size} bytes at {@code address}; see the class comment for unclaimed and straddling accesses. */
    public long read(long address, int size) {
        Entry e = lookup(address);
        if (e != null && address + size <= e.end()) {
            e.lock.lock();
            try {
                return e.device.read(address - e.base, size) & mask(size);
            } finally {
                e.lock.unlock();
            }
        }
        if (e == null && lookupWithin(address, size) == null) {
            unclaimed.increment();
            return mask(size);
        }
        straddling.increment();
        long value = 0;
        for (int i = 0; i < size; i++) {
            value |= readByte(address + i) << (8 * i);
        }
        return value;
    }

    /** Writes the low {@code size} bytes of {@code value} at {@code address}. */
    public void write(long address, int size, long value) {
        Entry e = lookup(address);
        if (e != null && address + size <= e.end()) {
            e.lock.lock();
            try {
                e.device.write(address - e.base, size, value & mask(size));
            } finally {
                e.lock.unlock();
            }
            return;
        }
        if (e == null && lookupWithin(address, size) == null) {
            unclaimed.increment();
            return;
        }
        straddling.increment();
        for (int i = 0; i < size; i++) {
            writeByte(address + i, (value >>> (8 * i)) & 0xff);
        }
    }

    /** The name of the device at {@code address} for a {@code size}-byte access: for traces. */
    public String describe(long address, int size) {
        Entry e = lookup(address);
        if (e != null && address + size <= e.end()) return e.device.name();
        if (e == null && lookupWithin(address, size) == null) return "unclaimed";
        return "straddling";
    }

    /** How many accesses hit no device. */
    public long unclaimedAccesses() {
        return unclaimed.sum();
    }

    /** How many accesses crossed a range boundary and were split. */
    public long straddlingAccesses() {
        return straddling.sum();
    }

    private long readByte(long address) {
        Entry e = lookup(address);
        if (e == null) return 0xff;
        e.lock.lock();
        try {
            return e.device.read(address - e.base, 1) & 0xff;
        } finally {
            e.lock.unlock();
        }
    }

    private void writeByte(long address, long value) {
        Entry e = lookup(address);
        if (e == null) return;
        e.lock.lock();
        try {
            e.device.write(address - e.base, 1, value);
        } finally {
            e.lock.unlock();
        }
    }

    /** The entry whose range contains {@code address}, or null. */
    private Entry lookup(long address) {
        Map.Entry<Long, Entry> f = ranges.floorEntry(address);
        if (f == null) return null;
        Entry e = f.getValue();
        return Long.compareUnsigned(address - e.base, e.length) < 0 ? e : null;
    }

    /** Some entry that starts inside {@code (address, address + size)}, or null. */
    private Entry lookupWithin(long address, int size) {
        Map.Entry<Long, Entry> c = ranges.ceilingEntry(address + 1);
        return c != null && c.getKey() < address + size ? c.getValue() : null;
    }

    private static long mask(int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }
}
