package org.jvmm.virtio.queue;

import static org.jvmm.virtio.queue.SplitQueue.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.RingDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SplitQueueTest {

    static final long BASE = 0x10000, SIZE = 0x10000;
    static final long DESC = BASE, AVAIL = BASE + 0x1000, USED = BASE + 0x2000, DATA = BASE + 0x4000;

    final GuestRam ram = new GuestRam(BASE, SIZE);
    final QueueLayout layout = new QueueLayout(8, DESC, AVAIL, USED);
    final RingDriver driver = new RingDriver(ram.memory, layout);

    @AfterEach
    void close() {
        assertTrue(ram.guardsIntact());
        ram.close();
    }

    SplitQueue queue(boolean indirect, boolean eventIdx) throws QueueException {
        return new SplitQueue(ram.memory, layout, 256, indirect, eventIdx);
    }

    @Test
    void emptyQueueYieldsNothing() throws QueueException {
        assertNull(queue(false, false).pop());
    }

    @Test
    void walksAReadableThenWritableChain() throws QueueException {
        driver.descriptor(3, DATA, 16, VIRTQ_DESC_F_NEXT, 5);
        driver.descriptor(5, DATA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
        driver.descriptor(1, DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
        driver.publish(3);
        SplitQueue q = queue(false, false);
        DescriptorChain c = q.pop();
        assertEquals(3, c.head());
        assertEquals(List.of(new Buffer(DATA, 16)), c.readable());
        assertEquals(List.of(new Buffer(DATA + 0x100, 512), new Buffer(DATA + 0x400, 1)), c.writable());
        assertNull(q.pop());
    }

    @Test
    void expandsIndirectTables() throws QueueException {
        long table = DATA + 0x1000;
        RingDriver.descriptor(ram.memory, table, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
        RingDriver.descriptor(ram.memory, table, 2, DATA + 0x200, 1, VIRTQ_DESC_F_WRITE, 0);
        driver.descriptor(0, table, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
        driver.publish(0);
        DescriptorChain c = queue(true, false).pop();
        assertEquals(List.of(new Buffer(DATA, 16)), c.readable());
        assertEquals(List.of(new Buffer(DATA + 0x200, 1)), c.writable());
    }

    @Test
    void rejectsIndirectWhenNotNegotiated() {
        driver.descriptor(0, DATA + 0x1000, 32, VIRTQ_DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThrows(QueueException.class, () -> queue(false, false).pop());
    }

    @Test
    void rejectsIndirectInsideIndirect() {
        long table = DATA + 0x1000;
        RingDriver.descriptor(ram.memory, table, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
        driver.descriptor(0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
        driver.publish(0);
        QueueException e = assertThrows(QueueException.class, () -> queue(true, false).pop());
        assertTrue(e.getMessage().contains("inside the indirect table"), e.getMessage());
    }

    @Test
    void rejectsIndirectTablesWhoseLengthIsNotAMultipleOf16() {
        driver.descriptor(0, DATA + 0x1000, 24, VIRTQ_DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThrows(QueueException.class, () -> queue(true, false).pop());
    }

    @Test
    void detectsALoop() {
        driver.descriptor(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
        driver.descriptor(1, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
        driver.publish(0);
        QueueException e = assertThrows(QueueException.class, () -> queue(false, false).pop());
        assertTrue(e.getMessage().contains("more than 8 descriptors"), e.getMessage());
    }

    @Test
    void detectsALoopInsideAnIndirectTable() {
        long table = DATA + 0x1000;
        RingDriver.descriptor(ram.memory, table, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
        RingDriver.descriptor(ram.memory, table, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
        driver.descriptor(0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThrows(QueueException.class, () -> queue(true, false).pop());
    }

    @Test
    void rejectsBuffersOutsideRamIncludingWrappingRanges() {
        for (long[] bad : new long[][] {{BASE + SIZE - 8, 16}, {BASE - 1, 2}, {-8, 16}, {0, 16}, {BASE + SIZE, 0}}) {
            driver.setAvailIdx(0);
            driver.descriptor(0, bad[0], bad[1], 0, 0);
            driver.publish(0);
            assertThrows(QueueException.class, () -> queue(false, false).pop(), "buffer 0x" + Long.toHexString(bad[0]));
        }
    }

    @Test
    void rejectsReadableAfterWritable() {
        driver.descriptor(0, DATA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
        driver.descriptor(1, DATA, 16, 0, 0);
        driver.publish(0);
        assertThrows(QueueException.class, () -> queue(false, false).pop());
    }

    @Test
    void rejectsNextOutsideTheTableAndHeadsOutsideIt() {
        driver.descriptor(0, DATA, 16, VIRTQ_DESC_F_NEXT, 8);
        driver.publish(0);
        assertThrows(QueueException.class, () -> queue(false, false).pop());
        driver.setAvailIdx(0);
        driver.publish(8);
        assertThrows(QueueException.class, () -> queue(false, false).pop());
    }

    @Test
    void rejectsAnAvailableIndexMoreThanAQueueAhead() throws QueueException {
        driver.descriptor(0, DATA, 16, 0, 0);
        driver.setAvailIdx(8);
        SplitQueue q = queue(false, false);
        for (int i = 0; i < 8; i++) assertNotNull(q.pop()); // exactly a queue's worth is legal
        driver.setAvailIdx(9);
        SplitQueue fresh = queue(false, false);
        assertThrows(QueueException.class, fresh::pop);
    }

    @Test
    void indicesWrapAt65536() throws QueueException {
        driver.descriptor(0, DATA, 16, 0, 0);
        SplitQueue q = queue(false, true);
        for (int i = 0; i < 65536 + 5; i++) {
            driver.publish(0);
            assertNotNull(q.pop(), "chain " + i);
            q.addUsed(0, i);
            driver.setUsedEvent(i & 0xffff); // "interrupt me once entry i is used"
            assertTrue(q.needsNotification(), "entry " + i);
            assertNull(q.pop());
        }
        assertEquals(5, q.nextAvail());
        assertEquals(5, driver.usedIdx());
        assertEquals(65536 + 4, driver.usedLen(4));
    }

    @Test
    void usedElementsAreWrittenAndPublished() throws QueueException {
        SplitQueue q = queue(false, false);
        for (int i = 0; i < 10; i++) q.addUsed(i % 8, 100 + i);
        assertEquals(10, driver.usedIdx());
        assertEquals(1, driver.usedId(9));
        assertEquals(109, driver.usedLen(9));
    }

    @Test
    void noInterruptFlagSuppressesNotification() throws QueueException {
        SplitQueue q = queue(false, false);
        assertFalse(q.needsNotification(), "nothing used yet");
        q.addUsed(0, 1);
        assertTrue(q.needsNotification());
        driver.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
        q.addUsed(0, 1);
        assertFalse(q.needsNotification());
    }

    @Test
    void eventIdxNotifiesOnlyWhenUsedEventIsPassed() throws QueueException {
        SplitQueue q = queue(false, true);
        driver.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT); // ignored with EVENT_IDX
        driver.setUsedEvent(2); // the driver wants to hear when entry 2 is used, i.e. used idx passes 2
        q.addUsed(0, 1);
        assertFalse(q.needsNotification());  // idx 0 -> 1
        q.addUsed(0, 1);
        assertFalse(q.needsNotification());  // 1 -> 2
        q.addUsed(0, 1);
        q.addUsed(0, 1);
        assertTrue(q.needsNotification());   // 2 -> 4 crosses entry 2
    }

    @Test
    void notificationSuppressionIsWrittenWhereTheDriverLooks() throws QueueException {
        SplitQueue plain = queue(false, false);
        plain.disableNotification();
        assertEquals(VIRTQ_USED_F_NO_NOTIFY, driver.usedFlags());
        assertFalse(plain.enableNotification());
        assertEquals(0, driver.usedFlags());

        driver.descriptor(0, DATA, 16, 0, 0);
        driver.publish(0);
        SplitQueue withEventIdx = queue(false, true);
        assertTrue(withEventIdx.enableNotification(), "a chain is waiting");
        assertNotNull(withEventIdx.pop());
        assertFalse(withEventIdx.enableNotification());
        assertEquals(1, driver.availEvent());
    }

    @Test
    void needEventFollowsTheSpecificationFormula() {
        // Written out from §2.7.10: notify iff event_idx is in [old, new) modulo 2^16.
        assertTrue(SplitQueue.needEvent(5, 6, 5));
        assertFalse(SplitQueue.needEvent(6, 6, 5));
        assertTrue(SplitQueue.needEvent(0xffff, 1, 0xfffe));
        assertFalse(SplitQueue.needEvent(1, 1, 0xfffe));
    }

    @Test
    void layoutValidationChecksSizeAlignmentAndBounds() {
        assertThrows(QueueException.class, () -> new QueueLayout(6, DESC, AVAIL, USED).validate(ram.memory, 256));
        assertThrows(QueueException.class, () -> new QueueLayout(0, DESC, AVAIL, USED).validate(ram.memory, 256));
        assertThrows(QueueException.class, () -> new QueueLayout(512, DESC, AVAIL, USED).validate(ram.memory, 256));
        assertThrows(QueueException.class, () -> new QueueLayout(65536, DESC, AVAIL, USED).validate(ram.memory, 65536));
        assertThrows(QueueException.class, () -> new QueueLayout(8, DESC + 8, AVAIL, USED).validate(ram.memory, 256));
        assertThrows(QueueException.class, () -> new QueueLayout(8, DESC, AVAIL + 1, USED).validate(ram.memory, 256));
        assertThrows(QueueException.class, () -> new QueueLayout(8, DESC, AVAIL, USED + 2).validate(ram.memory, 256));
        assertThrows(QueueException.class, () -> new QueueLayout(8, DESC, AVAIL, BASE + SIZE - 16).validate(ram.memory, 256));
        assertDoesNotThrow(() -> layout.validate(ram.memory, 256));
    }
}
