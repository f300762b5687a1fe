package org.jvmm.core.sys.linux.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A typed view of a vCPU's mmap'd {@code struct kvm_run} ({@code <linux/kvm.h>}): the exit reason and the
 * members of the exit union jvmm reads. Offsets are those of the LP64 layout shared by x86-64 and arm64.
 *
 * <p>Only the vCPU's own thread reads the exit members; {@link #requestImmediateExit()} is the one
 * method another thread calls, and it writes with volatile semantics so that a vCPU about to enter
 * {@code KVM_RUN} sees it.
 */
public final class KvmRun {

    // Exit reasons (KVM_EXIT_*).
    public static final int KVM_EXIT_UNKNOWN = 0;
    public static final int KVM_EXIT_EXCEPTION = 1;
    public static final int KVM_EXIT_IO = 2;
    public static final int KVM_EXIT_HYPERCALL = 3;
    public static final int KVM_EXIT_DEBUG = 4;
    public static final int KVM_EXIT_HLT = 5;
    public static final int KVM_EXIT_MMIO = 6;
    public static final int KVM_EXIT_IRQ_WINDOW_OPEN = 7;
    public static final int KVM_EXIT_SHUTDOWN = 8;
    public static final int KVM_EXIT_FAIL_ENTRY = 9;
    public static final int KVM_EXIT_INTR = 10;
    public static final int KVM_EXIT_INTERNAL_ERROR = 17;
    public static final int KVM_EXIT_SYSTEM_EVENT = 24;

    /** {@code io.direction} values. */
    public static final int KVM_EXIT_IO_IN = 0, KVM_EXIT_IO_OUT = 1;

    /** {@code system_event.type} values. */
    public static final int KVM_SYSTEM_EVENT_SHUTDOWN = 1, KVM_SYSTEM_EVENT_RESET = 2, KVM_SYSTEM_EVENT_CRASH = 3;

    // struct kvm_run header.
    private static final long IMMEDIATE_EXIT = 1;
    private static final long EXIT_REASON = 8;
    private static final long UNION = 32;
    // union member offsets, relative to the start of kvm_run.
    private static final long IO_DIRECTION = UNION, IO_SIZE = UNION + 1, IO_PORT = UNION + 2, IO_COUNT = UNION + 4,
            IO_DATA_OFFSET = UNION + 8;
    private static final long MMIO_PHYS_ADDR = UNION, MMIO_DATA = UNION + 8, MMIO_LEN = UNION + 16,
            MMIO_IS_WRITE = UNION + 20;
    private static final long FAIL_ENTRY_REASON = UNION, FAIL_ENTRY_CPU = UNION + 8;
    private static final long INTERNAL_SUBERROR = UNION, INTERNAL_NDATA = UNION + 4, INTERNAL_DATA = UNION + 8;
    private static final long SYSTEM_EVENT_TYPE = UNION, SYSTEM_EVENT_NDATA = UNION + 4, SYSTEM_EVENT_DATA = UNION + 8;
    /** The union is 256 bytes; the data arrays inside it hold at most 16 u64. */
    private static final int MAX_DATA = 16;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.nativeOrder());
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.nativeOrder());
    private static final VarHandle BYTE = ValueLayout.JAVA_BYTE.varHandle();

    private final MemorySegment run;

    /** Wraps the {@code KVM_GET_VCPU_MMAP_SIZE}-byte mapping of a vCPU descriptor. */
    public KvmRun(MemorySegment run) {
        this.run = run;
    }

    /** The whole mapping (the PIO data page follows the struct in it). */
    public MemorySegment segment() {
        return run;
    }

    public int exitReason() {
        return run.get(U32, EXIT_REASON);
    }

    /** Makes the next (or current, once kicked out by a signal) {@code KVM_RUN} return EINTR. Any thread. */
    public void requestImmediateExit() {
        BYTE.setVolatile(run, IMMEDIATE_EXIT, (byte) 1);
    }

    /** Clears {@link #requestImmediateExit()}; the vCPU thread calls it once it has seen the EINTR. */
    public void clearImmediateExit() {
        BYTE.setVolatile(run, IMMEDIATE_EXIT, (byte) 0);
    }

    public boolean immediateExitRequested() {
        return (byte) BYTE.getVolatile(run, IMMEDIATE_EXIT) != 0;
    }

    // io

    public boolean ioIsOut() {
        return run.get(ValueLayout.JAVA_BYTE, IO_DIRECTION) == KVM_EXIT_IO_OUT;
    }

    public int ioSize() {
        return Byte.toUnsignedInt(run.get(ValueLayout.JAVA_BYTE, IO_SIZE));
    }

    public int ioPort() {
        return Short.toUnsignedInt(run.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.nativeOrder()), IO_PORT));
    }

    /** How many {@link #ioSize()}-byte elements a string ({@code rep ins/outs}) access moves; 1 otherwise. */
    public long ioCount() {
        return Integer.toUnsignedLong(run.get(U32, IO_COUNT));
    }

    /** Where the port-I/O data lies inside the mapping, as the kernel reports it (see {@link #ioData()}). */
    public long ioDataOffset() {
        return run.get(U64, IO_DATA_OFFSET);
    }

    /**
     * The data of a port-I/O exit: {@code count * size} bytes at {@code data_offset} inside the mapping,
     * or null if the kernel's offset and count would reach outside it (never expected; checked because a
     * wrong value would otherwise become an out-of-bounds access).
     */
    public MemorySegment ioData() {
        long offset = ioDataOffset();
        long length = ioCount() * ioSize();
        if (offset < 0 || offset > run.byteSize() || length > run.byteSize() - offset) return null;
        return run.asSlice(offset, length);
    }

    // mmio

    public long mmioAddress() {
        return run.get(U64, MMIO_PHYS_ADDR);
    }

    /** The access length in bytes (1 to 8). */
    public int mmioLength() {
        return run.get(U32, MMIO_LEN);
    }

    public boolean mmioIsWrite() {
        return run.get(ValueLayout.JAVA_BYTE, MMIO_IS_WRITE) != 0;
    }

    /** The 8-byte data array of an MMIO exit. */
    public MemorySegment mmioData() {
        return run.asSlice(MMIO_DATA, 8);
    }

    // fail_entry, internal, system_event

    public long failEntryReason() {
        return run.get(U64, FAIL_ENTRY_REASON);
    }

    public int failEntryCpu() {
        return run.get(U32, FAIL_ENTRY_CPU);
    }

    public int internalSuberror() {
        return run.get(U32, INTERNAL_SUBERROR);
    }

    /** The internal-error data words, as many as the kernel says (at most 16). */
    public long[] internalData() {
        return words(INTERNAL_NDATA, INTERNAL_DATA);
    }

    public int systemEventType() {
        return run.get(U32, SYSTEM_EVENT_TYPE);
    }

    /** The system-event data words, as many as the kernel says (at most 16). */
    public long[] systemEventData() {
        return words(SYSTEM_EVENT_NDATA, SYSTEM_EVENT_DATA);
    }

    private long[] words(long countOffset, long dataOffset) {
        int n = Math.clamp(Integer.toUnsignedLong(run.get(U32, countOffset)), 0, MAX_DATA);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) out[i] = run.get(U64, dataOffset + 8L * i);
        return out;
    }

    /** A name for an exit reason, for messages. */
    public static String exitName(int reason) {
        return switch (reason) {
            case KVM_EXIT_UNKNOWN -> "KVM_EXIT_UNKNOWN";
            case KVM_EXIT_EXCEPTION -> "KVM_EXIT_EXCEPTION";
            case KVM_EXIT_IO -> "KVM_EXIT_IO";
            case KVM_EXIT_HYPERCALL -> "KVM_EXIT_HYPERCALL";
            case KVM_EXIT_DEBUG -> "KVM_EXIT_DEBUG";
            case KVM_EXIT_HLT -> "KVM_EXIT_HLT";
            case KVM_EXIT_MMIO -> "KVM_EXIT_MMIO";
            case KVM_EXIT_IRQ_WINDOW_OPEN -> "KVM_EXIT_IRQ_WINDOW_OPEN";
            case KVM_EXIT_SHUTDOWN -> "KVM_EXIT_SHUTDOWN";
            case KVM_EXIT_FAIL_ENTRY -> "KVM_EXIT_FAIL_ENTRY";
            case KVM_EXIT_INTR -> "KVM_EXIT_INTR";
            case KVM_EXIT_INTERNAL_ERROR -> "KVM_EXIT_INTERNAL_ERROR";
            case KVM_EXIT_SYSTEM_EVENT -> "KVM_EXIT_SYSTEM_EVENT";
            default -> "KVM exit " + reason;
        };
    }
}
