package org.jvmm.virtio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRegion;

/**
 * Simulated guest RAM for tests: one region at {@code base}, with guard pages on both sides of it in the
 * same host allocation, so a test can prove that nothing wrote outside guest RAM.
 */
public final class GuestRam implements AutoCloseable {

    static final long GUARD = 4096;
    private static final byte GUARD_BYTE = (byte) 0xa5;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment whole;
    public final long base;
    public final long size;
    public final GuestMemory memory;

    public GuestRam(long base, long size) {
        this.base = base;
        this.size = size;
        this.whole = arena.allocate(size + 2 * GUARD, 4096);
        whole.asSlice(0, GUARD).fill(GUARD_BYTE);
        whole.asSlice(GUARD + size, GUARD).fill(GUARD_BYTE);
        this.memory = new GuestMemory(List.of(new MemoryRegion(base, whole.asSlice(GUARD, size), -1, 0)), () -> {});
    }

    /** The host view of guest RAM. */
    public MemorySegment ram() {
        return whole.asSlice(GUARD, size);
    }

    /** Whether both guard areas still hold their pattern. */
    public boolean guardsIntact() {
        for (long i = 0; i < GUARD; i++) {
            if (whole.get(ValueLayout.JAVA_BYTE, i) != GUARD_BYTE) return false;
            if (whole.get(ValueLayout.JAVA_BYTE, GUARD + size + i) != GUARD_BYTE) return false;
        }
        return true;
    }

    @Override
    public void close() {
        arena.close();
    }
}
