package org.jvmm.virtio.queue;

import java.util.ArrayList;
import java.util.List;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.GuestMemoryException;

/**
 * The device's side of one split virtqueue (virtio 1.2 §2.7): takes descriptor chains from the
 * available ring, returns them on the used ring, and decides when the driver wants an interrupt.
 *
 * <p>Everything in the rings is written by a hostile driver, so every value is checked before it is
 * used and every violation is a {@link QueueException}:
 * <ul>
 *   <li>an available index more than the queue size ahead of the device's own (§2.7.6: the driver
 *       cannot have more chains outstanding than there are descriptors);</li>
 *   <li>a head or {@code next} index outside its table;</li>
 *   <li>a chain with more descriptors than its table has entries, which is also how loops are caught
 *       (§2.7.5.3.1: a chain is never longer than the queue);</li>
 *   <li>a buffer not wholly inside one region of guest RAM (including ranges that wrap);</li>
 *   <li>a readable descriptor after a writable one (§2.7.4.2);</li>
 *   <li>an indirect descriptor when VIRTIO_RING_F_INDIRECT_DESC was not negotiated, inside an indirect
 *       table, combined with VIRTQ_DESC_F_NEXT, or whose length is zero or not a multiple of 16
 *       (§2.7.5.3.1).</li>
 * </ul>
 * All memory accesses go through {@link GuestMemory}, whose bounds checks are the last line of defence.
 *
 * <p>Ordering (§2.7.7, §2.7.8): the available index is read with acquire semantics before the entries
 * it publishes; a used element is written before the used index is release-stored; a full fence sits
 * between publishing the used index (or re-enabling notifications) and reading the driver's
 * suppression fields, the classic store-load race that otherwise loses wake-ups.
 *
 * <p>Not thread-safe: a queue belongs to one device thread at a time.
 */
public final class SplitQueue {

    /** §2.7.5: this descriptor continues via its {@code next} field. */
    public static final int VIRTQ_DESC_F_NEXT = 1;
    /** §2.7.5: the buffer is device-writable. */
    public static final int VIRTQ_DESC_F_WRITE = 2;
    /** §2.7.5.3: the buffer holds an indirect descriptor table. */
    public static final int VIRTQ_DESC_F_INDIRECT = 4;
    /** §2.7.6: the driver does not want used-buffer interrupts. */
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
    /** §2.7.8: the device does not want available-buffer notifications. */
    public static final int VIRTQ_USED_F_NO_NOTIFY = 1;

    /** Indices are 16-bit, so an indirect table with more entries could never be walked past them. */
    private static final int MAX_INDIRECT_ENTRIES = 1 << 16;

    private final GuestMemory memory;
    private final QueueLayout layout;
    private final boolean indirectDescriptors;
    private final boolean eventIdx;
    private final int mask;
    private int nextAvail;
    private int nextUsed;
    private int signalledUsed;

    /**
     * A queue at {@code layout} in {@code memory}, with the ring features the driver negotiated.
     *
     * @param maxSize the device's largest queue size
     * @throws QueueException if the layout is invalid (see {@link QueueLayout#validate})
     */
    public SplitQueue(GuestMemory memory, QueueLayout layout, int maxSize,
                      boolean indirectDescriptors, boolean eventIdx) throws QueueException {
        layout.validate(memory, maxSize);
        this.memory = memory;
        this.layout = layout;
        this.indirectDescriptors = indirectDescriptors;
        this.eventIdx = eventIdx;
        this.mask = layout.size() - 1;
    }

    /**
     * Continues a ring that was served before, for example by another process (vhost-user's
     * SET_VRING_BASE): the device takes available entries from {@code nextAvail} and writes used entries
     * from {@code nextUsed} (free-running 16-bit indices). Only before the first {@link #pop}.
     */
    public void resumeAt(int nextAvail, int nextUsed) {
        this.nextAvail = nextAvail & 0xffff;
        this.nextUsed = nextUsed & 0xffff;
        this.signalledUsed = this.nextUsed;
    }

    /** The queue's layout. */
    public QueueLayout layout() {
        return layout;
    }

    /** The free-running index of the next available-ring entry the device will take. */
    public int nextAvail() {
        return nextAvail;
    }

    /** The free-running index of the next used-ring entry the device will write. */
    public int nextUsed() {
        return nextUsed;
    }

    /**
     * Takes the next chain from the available ring, or returns null if the driver has published none.
     *
     * @throws QueueException if the ring or the chain breaks the protocol; the queue must then not be used
     */
    public DescriptorChain pop() throws QueueException {
        try {
            int availIdx = memory.read16Acquire(layout.availableRing() + 2);
            int pending = (availIdx - nextAvail) & 0xffff;
            if (pending == 0) return null;
            if (pending > layout.size()) {
                throw new QueueException("available index %d is %d entries ahead of the device's %d, more than the queue size %d"
                        .formatted(availIdx, pending, nextAvail, layout.size()));
            }
            int head = memory.read16(layout.availableRing() + 4 + 2L * (nextAvail & mask));
            if (head >= layout.size()) {
                throw new QueueException("available ring entry %d names descriptor %d of a %d-entry table"
                        .formatted(nextAvail, head, layout.size()));
            }
            DescriptorChain chain = walk(head);
            nextAvail = (nextAvail + 1) & 0xffff;
            return chain;
        } catch (GuestMemoryException e) {
            // Unreachable while the checks above hold; kept so that a missed check is still a queue error.
            throw new QueueException("ring access outside guest RAM: " + e.getMessage());
        }
    }

    private DescriptorChain walk(int head) throws QueueException {
        List<Buffer> readable = new ArrayList<>();
        List<Buffer> writable = new ArrayList<>();
        long table = layout.descriptorTable();
        int tableEntries = layout.size();
        boolean inIndirect = false;
        int index = head;
        int walked = 0;
        while (true) {
            if (walked++ >= tableEntries) {
                throw new QueueException("chain at head %d has more than %d descriptors (a loop or an over-long chain)"
                        .formatted(head, tableEntries));
            }
            long at = table + 16L * index;
            long address = memory.read64(at);
            long length = memory.read32(at + 8);
            int flags = memory.read16(at + 12);
            int next = memory.read16(at + 14);
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                if (!indirectDescriptors) {
                    throw new QueueException("indirect descriptor in chain %d but VIRTIO_RING_F_INDIRECT_DESC was not negotiated".formatted(head));
                }
                if (inIndirect) {
                    throw new QueueException("indirect descriptor inside the indirect table of chain %d".formatted(head));
                }
                if ((flags & VIRTQ_DESC_F_NEXT) != 0) {
                    throw new QueueException("indirect descriptor in chain %d also has VIRTQ_DESC_F_NEXT".formatted(head));
                }
                if (length == 0 || length % 16 != 0 || length / 16 > MAX_INDIRECT_ENTRIES) {
                    throw new QueueException("indirect table of chain %d has length %d, not a non-zero multiple of 16 up to %d entries"
                            .formatted(head, length, MAX_INDIRECT_ENTRIES));
                }
                if ((address & 0xf) != 0 || !memory.contains(address, length)) {
                    throw new QueueException("indirect table of chain %d [0x%x, +0x%x) is misaligned or not inside guest RAM"
                            .formatted(head, address, length));
                }
                table = address;
                tableEntries = (int) (length / 16);
                inIndirect = true;
                index = 0;
                walked = 0;
                continue;
            }
            if (!memory.contains(address, length)) {
                throw new QueueException("descriptor %d of chain %d [0x%x, +0x%x) is not inside guest RAM"
                        .formatted(index, head, address, length));
            }
            if ((flags & VIRTQ_DESC_F_WRITE) != 0) {
                writable.add(new Buffer(address, length));
            } else if (!writable.isEmpty()) {
                throw new QueueException("chain %d has a device-readable descriptor after a device-writable one".formatted(head));
            } else {
                readable.add(new Buffer(address, length));
            }
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) {
                return new DescriptorChain(head, readable, writable);
            }
            if (next >= tableEntries) {
                throw new QueueException("descriptor %d of chain %d continues to %d, outside its %d-entry table"
                        .formatted(index, head, next, tableEntries));
            }
            index = next;
        }
    }

    /**
     * Returns chain {@code head} to the driver, saying the device wrote {@code written} bytes into it.
     * The element is written first and the used index is release-stored after it (§2.7.8).
     */
    public void addUsed(int head, long written) {
        long element = layout.usedRing() + 4 + 8L * (nextUsed & mask);
        memory.write32(element, head);
        memory.write32(element + 4, written);
        nextUsed = (nextUsed + 1) & 0xffff;
        memory.write16Release(layout.usedRing() + 2, nextUsed);
    }

    /**
     * Whether the driver wants a used-buffer interrupt for the elements added since the last call:
     * with VIRTIO_RING_F_EVENT_IDX, the {@code vring_need_event} rule against used_event (§2.7.10);
     * otherwise unless the driver set VIRTQ_AVAIL_F_NO_INTERRUPT (§2.7.7).
     */
    public boolean needsNotification() {
        GuestMemory.fullFence();
        int old = signalledUsed;
        signalledUsed = nextUsed;
        if (old == nextUsed) return false;
        if (eventIdx) {
            int usedEvent = memory.read16(layout.availableRing() + 4 + 2L * layout.size());
            return needEvent(usedEvent, nextUsed, old);
        }
        return (memory.read16(layout.availableRing()) & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
    }

    /**
     * §2.7.10's {@code vring_need_event}: whether {@code eventIdx} lies in the half-open window
     * {@code [oldIdx, newIdx)} of 16-bit indices the device just moved past.
     */
    public static boolean needEvent(int eventIdx, int newIdx, int oldIdx) {
        return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
    }

    /** Asks the driver not to notify while the device is busy draining the queue (a hint, §2.7.8). */
    public void disableNotification() {
        if (!eventIdx) memory.write16(layout.usedRing(), VIRTQ_USED_F_NO_NOTIFY);
    }

    /**
     * Asks the driver to notify for the next available chain, then rechecks the ring: returns true if
     * chains arrived meanwhile (the caller must drain again instead of sleeping).
     */
    public boolean enableNotification() {
        if (eventIdx) {
            memory.write16(layout.usedRing() + 4 + 8L * layout.size(), nextAvail);
        } else {
            memory.write16(layout.usedRing(), 0);
        }
        GuestMemory.fullFence();
        return memory.read16Acquire(layout.availableRing() + 2) != nextAvail;
    }
}
