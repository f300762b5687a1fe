package org.jvmm.virtio;

import org.jvmm.core.sys.EventNotifier;
import org.jvmm.virtio.queue.SplitQueue;

/**
 * A queue the driver made ready, as the device receives it on activation.
 *
 * @param index the queue's index (virtio-blk: 0 is the request queue)
 * @param queue the validated ring
 * @param kick  signalled each time the driver notifies this queue (an ioeventfd or the transport itself)
 */
public record ActiveQueue(int index, SplitQueue queue, EventNotifier kick) {}
