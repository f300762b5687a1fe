package org.jvmm.arm64.hvf;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongUnaryOperator;
import org.jvmm.core.bus.BusDevice;

/**
 * The conformance guests' MMIO partner at {@link #BASE}: records every access; reads answer {@link #PATTERN}
 * cut to the access size, except {@link #FLAG}, which reads what the test set.
 */
final class Probe implements BusDevice {

    static final long BASE = 0x0b00_0000L;
    static final long SIZE = 0x1000;
    static final long PATTERN = 0xf1e2d3c4b5a69788L;
    static final long FLAG = 0x400;

    /** One guest access. */
    record Access(boolean write, long offset, int size, long value) {}

    private final List<Access> accesses = new ArrayList<>();
    final AtomicLong flag = new AtomicLong();
    private final LongUnaryOperator answer;

    /** The conformance guests' probe: {@link #PATTERN} everywhere but {@link #FLAG}. */
    Probe() {
        this.answer = null;
    }

    /** A probe whose read at {@code offset} answers {@code answer(offset)}, cut to the access size. */
    Probe(LongUnaryOperator answer) {
        this.answer = answer;
    }

    @Override
    public String name() { return "probe"; }

    @Override
    public synchronized long read(long offset, int size) {
        long v = answer != null ? answer.applyAsLong(offset) : offset == FLAG ? flag.get() : PATTERN;
        if (size < 8) v &= (1L << (8 * size)) - 1;
        accesses.add(new Access(false, offset, size, v));
        notifyAll();
        return v;
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        accesses.add(new Access(true, offset, size, value));
        notifyAll();
    }

    synchronized List<Access> accesses() { return List.copyOf(accesses); }

    synchronized List<Access> writes() { return accesses.stream().filter(Access::write).toList(); }

    /** The last value written at {@code offset}, or null. */
    synchronized Long written(long offset) {
        Long v = null;
        for (Access a : accesses) if (a.write() && a.offset() == offset) v = a.value();
        return v;
    }

    /** Waits (at most 30 s, a hang guard) until the guest has written {@code offset}. */
    synchronized boolean awaitWrite(long offset) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (written(offset) == null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }
}
