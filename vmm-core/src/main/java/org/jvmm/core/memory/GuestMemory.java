package org.jvmm.core.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Comparator;
import java.util.List;

/**
 * The guest's physical RAM: a sorted set of non-overlapping {@link MemoryRegion regions}.
 *
 * <p>Every accessor takes a guest-physical address and checks it: an access that is not wholly inside
 * one region throws {@link GuestMemoryException}, so a hostile guest address can never reach host
 * memory outside guest RAM. Multi-byte values are little-endian (the byte order of both guest
 * architectures and of virtio). The {@code acquire}/{@code release} accessors give the ordering that
 * shared rings need (virtio's available and used indices); the plain ones give none.
 *
 * <p>Thread-safe: the region list is immutable; concurrent accesses to the same bytes are as racy as
 * they are on real hardware.
 */
public final class GuestMemory implements AutoCloseable {

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    // Ring indices are naturally aligned (virtio 1.2 §2.7), so aligned handles give real atomicity.
    private static final VarHandle U16_ALIGNED = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemoryRegion[] regions;
    private final Runnable onClose;

    /**
     * Wraps {@code regions}; {@code onClose} releases them (unmaps, closes descriptors).
     *
     * @throws IllegalArgumentException if regions overlap
     */
    public GuestMemory(List<MemoryRegion> regions, Runnable onClose) {
        this.regions = regions.stream().sorted(Comparator.comparingLong(MemoryRegion::guestAddress))
                .toArray(MemoryRegion[]::new);
        for (int i = 1; i < this.regions.length; i++) {
            if (this.regions[i - 1].end() > this.regions[i].guestAddress()) {
                throw new IllegalArgumentException("overlapping guest memory regions: "
                        + this.regions[i - 1] + " and " + this.regions[i]);
            }
        }
        this.onClose = onClose;
    }

    /** The regions, sorted by guest address. */
    public List<MemoryRegion> regions() {
        return List.of(regions);
    }

    /** The total size of all regions in bytes. */
    public long size() {
        long total = 0;
        for (MemoryRegion r : regions) total += r.size();
        return total;
    }

    /** The end (exclusive) of the highest region. */
    public long end() {
        return regions.length == 0 ? 0 : regions[regions.length - 1].end();
    }

    /** Whether {@code [address, address + length)} lies wholly inside one region. */
    public boolean contains(long address, long length) {
        return find(address, length) != null;
    }

    /**
     * A view of {@code length} bytes at {@code address}, for bulk copies and I/O.
     *
     * @throws GuestMemoryException if the range is not wholly inside one region
     */
    public MemorySegment slice(long address, long length) {
        MemoryRegion r = find(address, length);
        if (r == null) throw new GuestMemoryException(address, length);
        return r.segment().asSlice(address - r.guestAddress(), length);
    }

    public int read8(long address) { return Byte.toUnsignedInt(slice(address, 1).get(ValueLayout.JAVA_BYTE, 0)); }
    public int read16(long address) { return Short.toUnsignedInt(slice(address, 2).get(U16, 0)); }
    public long read32(long address) { return Integer.toUnsignedLong(slice(address, 4).get(U32, 0)); }
    public long read64(long address) { return slice(address, 8).get(U64, 0); }

    public void write8(long address, int value) { slice(address, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) value); }
    public void write16(long address, int value) { slice(address, 2).set(U16, 0, (short) value); }
    public void write32(long address, long value) { slice(address, 4).set(U32, 0, (int) value); }
    public void write64(long address, long value) { slice(address, 8).set(U64, 0, value); }

    /** Reads {@code size} (1, 2, 4 or 8) bytes as an unsigned value. */
    public long read(long address, int size) {
        return switch (size) {
            case 1 -> read8(address);
            case 2 -> read16(address);
            case 4 -> read32(address);
            case 8 -> read64(address);
            default -> throw new IllegalArgumentException("access size must be 1, 2, 4 or 8: " + size);
        };
    }

    /** Writes the low {@code size} (1, 2, 4 or 8) bytes of {@code value}. */
    public void write(long address, int size, long value) {
        switch (size) {
            case 1 -> write8(address, (int) value);
            case 2 -> write16(address, (int) value);
            case 4 -> write32(address, value);
            case 8 -> write64(address, value);
            default -> throw new IllegalArgumentException("access size must be 1, 2, 4 or 8: " + size);
        }
    }

    /** Reads a 16-bit value with acquire semantics: later reads cannot be reordered before it. */
    public int read16Acquire(long address) {
        checkAligned(address, 2);
        return Short.toUnsignedInt((short) U16_ALIGNED.getAcquire(slice(address, 2), 0L));
    }

    /** Writes a 16-bit value with release semantics: earlier writes become visible before it. */
    public void write16Release(long address, int value) {
        checkAligned(address, 2);
        U16_ALIGNED.setRelease(slice(address, 2), 0L, (short) value);
    }

    /** A full two-way fence, for the virtio "write then check flags" patterns (EVENT_IDX). */
    public static void fullFence() {
        VarHandle.fullFence();
    }

    /** Copies {@code bytes} into guest memory at {@code address}. */
    public void write(long address, byte[] bytes) {
        MemorySegment.copy(bytes, 0, slice(address, bytes.length), ValueLayout.JAVA_BYTE, 0, bytes.length);
    }

    /** Copies {@code length} bytes at {@code address} out of guest memory. */
    public byte[] readBytes(long address, int length) {
        return slice(address, length).toArray(ValueLayout.JAVA_BYTE);
    }

    private static void checkAligned(long address, int alignment) {
        if ((address & (alignment - 1)) != 0) {
            throw new GuestMemoryException("unaligned " + alignment + "-byte ordered access at 0x" + Long.toHexString(address));
        }
    }

    private MemoryRegion find(long address, long length) {
        if (length < 0 || address < 0) return null;
        int lo = 0, hi = regions.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            MemoryRegion r = regions[mid];
            if (address < r.guestAddress()) hi = mid - 1;
            else if (address >= r.end()) lo = mid + 1;
            else return length <= r.end() - address ? r : null;
        }
        return null;
    }

    @Override
    public void close() {
        onClose.run();
    }
}
