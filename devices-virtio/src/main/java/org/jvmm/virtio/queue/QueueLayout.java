package org.jvmm.virtio.queue;

import org.jvmm.core.memory.GuestMemory;

/**
 * Where the driver put a split virtqueue's three parts and how many entries it has (virtio 1.2 §2.7):
 * the descriptor table, the available ring ("driver area") and the used ring ("device area").
 *
 * @param size            the number of descriptors and ring entries
 * @param descriptorTable guest-physical address of the descriptor table (16 bytes per entry)
 * @param availableRing   guest-physical address of the available ring (6 + 2 * size bytes)
 * @param usedRing        guest-physical address of the used ring (6 + 8 * size bytes)
 */
public record QueueLayout(int size, long descriptorTable, long availableRing, long usedRing) {

    /** The largest split queue the specification allows (§2.7: "Queue Size ... maximum 32768"). */
    public static final int MAX_SIZE = 32768;

    /** The size in bytes of the descriptor table. */
    public long descriptorTableBytes() {
        return 16L * size;
    }

    /** The size in bytes of the available ring, including the trailing used_event field. */
    public long availableRingBytes() {
        return 6L + 2L * size;
    }

    /** The size in bytes of the used ring, including the trailing avail_event field. */
    public long usedRingBytes() {
        return 6L + 8L * size;
    }

    /**
     * Checks everything the driver chose against the specification and against guest RAM: the size is a
     * power of two no larger than {@code maxSize}, each part is aligned as §2.7 requires (16, 2, 4) and
     * lies wholly inside one region of {@code memory}.
     *
     * @throws QueueException naming the first violation
     */
    public void validate(GuestMemory memory, int maxSize) throws QueueException {
        if (size <= 0 || Integer.bitCount(size) != 1) {
            throw new QueueException("queue size " + size + " is not a power of two");
        }
        if (size > maxSize || size > MAX_SIZE) {
            throw new QueueException("queue size " + size + " exceeds the maximum " + Math.min(maxSize, MAX_SIZE));
        }
        checkPart(memory, "descriptor table", descriptorTable, descriptorTableBytes(), 16);
        checkPart(memory, "available ring", availableRing, availableRingBytes(), 2);
        checkPart(memory, "used ring", usedRing, usedRingBytes(), 4);
    }

    private static void checkPart(GuestMemory memory, String what, long address, long bytes, int alignment)
            throws QueueException {
        if ((address & (alignment - 1)) != 0) {
            throw new QueueException("%s at 0x%x is not %d-byte aligned".formatted(what, address, alignment));
        }
        if (!memory.contains(address, bytes)) {
            throw new QueueException("%s [0x%x, +0x%x) is not inside guest RAM".formatted(what, address, bytes));
        }
    }
}
