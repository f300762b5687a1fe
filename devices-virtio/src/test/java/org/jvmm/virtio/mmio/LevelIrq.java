package org.jvmm.virtio.mmio;

import org.jvmm.core.irq.IrqLine;

/** An interrupt line that remembers its level and counts rising edges. */
final class LevelIrq implements IrqLine {
    volatile boolean level;
    volatile int rises;

    @Override
    public synchronized void set(boolean asserted) {
        if (asserted && !level) rises++;
        level = asserted;
    }
}
