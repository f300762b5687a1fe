package org.jvmm.x86.kvm;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongBinaryOperator;
import org.jvmm.core.bus.BusDevice;

/**
 * A bus device that logs every access as text ("W 0x10/1 = 0x12", "R 0x20/2 = 0xbeef") and answers
 * reads from a function of (offset, size). Offsets in the log are absolute: the base is added back.
 */
class Recorder implements BusDevice {

    private final String name;
    private final long base;
    private final LongBinaryOperator answer;
    final List<String> log;

    Recorder(String name, long base, List<String> sharedLog, LongBinaryOperator answer) {
        this.name = name;
        this.base = base;
        this.answer = answer;
        this.log = sharedLog;
    }

    Recorder(String name, long base, LongBinaryOperator answer) {
        this(name, base, new CopyOnWriteArrayList<>(), answer);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long read(long offset, int size) {
        long v = answer.applyAsLong(offset, size);
        log.add("R 0x%x/%d = 0x%x".formatted(base + offset, size, v));
        return v;
    }

    @Override
    public void write(long offset, int size, long value) {
        log.add("W 0x%x/%d = 0x%x".formatted(base + offset, size, value));
    }
}
