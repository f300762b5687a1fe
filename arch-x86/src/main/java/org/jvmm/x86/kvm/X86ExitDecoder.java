package org.jvmm.x86.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.Supplier;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.sys.linux.kvm.KvmRun;

/**
 * Turns what {@code KVM_RUN} left in {@code kvm_run} into {@link VcpuExit}s for an x86 vCPU, and puts
 * completed reads back where KVM expects them. Works on the {@code kvm_run} memory only (no system
 * calls), so it can be tested on hand-made contents.
 *
 * <p>String port I/O ({@code rep ins/outs}) reaches user space as one {@code KVM_EXIT_IO} with
 * {@code count > 1} elements in the data page; {@link #nextStringElement()} hands the remaining elements
 * out one by one, without re-entering the guest, so the run loop and devices only see single accesses.
 *
 * <p>A read left uncompleted returns all-ones to the guest, like an unclaimed bus read: the data area is
 * filled with 0xff before the exit is returned. Sizes and offsets the kernel reports are checked; values
 * outside what the ABI allows give {@link VcpuExit.Unhandled}, never an access outside the mapping.
 */
final class X86ExitDecoder {

    private static final VcpuExit HALT = new VcpuExit.Halt();
    private static final VcpuExit CANCELED = new VcpuExit.Canceled();

    private final KvmRun run;

    // The port-I/O exit being handed out element by element.
    private MemorySegment ioData;
    private int ioPort, ioSize;
    private long ioCount, ioNext;
    private boolean ioOut;
    /** Where {@link #completeRead} puts the value of the read returned last; null if none is pending. */
    private MemorySegment pendingRead;

    X86ExitDecoder(KvmRun run) {
        this.run = run;
    }

    /** Forgets an uncompleted read (its data area already holds all-ones); call before every run. */
    void startRun() {
        pendingRead = null;
    }

    /** The next element of a string I/O exit still being handed out, or null if none is left. */
    VcpuExit nextStringElement() {
        return ioNext < ioCount ? nextIoElement() : null;
    }

    /** The exit {@code KVM_RUN} just returned; {@code registers} dumps the vCPU for failure exits. */
    VcpuExit decode(Supplier<String> registers) {
        int reason = run.exitReason();
        return switch (reason) {
            case KvmRun.KVM_EXIT_IO -> ioExit();
            case KvmRun.KVM_EXIT_MMIO -> mmioExit();
            case KvmRun.KVM_EXIT_HLT -> HALT;
            case KvmRun.KVM_EXIT_SHUTDOWN -> new VcpuExit.Shutdown("KVM_EXIT_SHUTDOWN: triple fault or unrecoverable guest state");
            case KvmRun.KVM_EXIT_SYSTEM_EVENT -> systemEvent();
            case KvmRun.KVM_EXIT_INTERNAL_ERROR -> new VcpuExit.InternalError(Integer.toUnsignedLong(run.internalSuberror()),
                    registers.get() + "\ninternal error data: " + hex(run.internalData()));
            case KvmRun.KVM_EXIT_FAIL_ENTRY -> new VcpuExit.FailedEntry(run.failEntryReason(),
                    registers.get() + "\nfailed on host cpu " + run.failEntryCpu());
            case KvmRun.KVM_EXIT_INTR -> CANCELED;
            default -> new VcpuExit.Unhandled(Integer.toUnsignedLong(reason), KvmRun.exitName(reason));
        };
    }

    private VcpuExit ioExit() {
        ioNext = ioCount = 0;
        int size = run.ioSize();
        if (size != 1 && size != 2 && size != 4) return new VcpuExit.Unhandled(KvmRun.KVM_EXIT_IO, "port I/O of size " + size);
        long count = run.ioCount();
        MemorySegment data = run.ioData();
        if (count == 0 || data == null) {
            return new VcpuExit.Unhandled(KvmRun.KVM_EXIT_IO, "port I/O of %d elements at data offset 0x%x"
                    .formatted(count, run.ioDataOffset()));
        }
        ioData = data;
        ioPort = run.ioPort();
        ioSize = size;
        ioOut = run.ioIsOut();
        ioCount = count;
        return nextIoElement();
    }

    private VcpuExit nextIoElement() {
        MemorySegment element = ioData.asSlice(ioNext * ioSize, ioSize);
        ioNext++;
        if (ioOut) return new VcpuExit.IoOut(ioPort, ioSize, readLittleEndian(element));
        element.fill((byte) 0xff);
        pendingRead = element;
        return new VcpuExit.IoIn(ioPort, ioSize);
    }

    private VcpuExit mmioExit() {
        int length = run.mmioLength();
        long address = run.mmioAddress();
        if (length < 1 || length > 8) return new VcpuExit.Unhandled(KvmRun.KVM_EXIT_MMIO, "MMIO of length " + length);
        MemorySegment data = run.mmioData().asSlice(0, length);
        if (run.mmioIsWrite()) return new VcpuExit.MmioWrite(address, length, readLittleEndian(data));
        data.fill((byte) 0xff);
        pendingRead = data;
        return new VcpuExit.MmioRead(address, length);
    }

    private VcpuExit systemEvent() {
        int type = run.systemEventType();
        return switch (type) {
            case KvmRun.KVM_SYSTEM_EVENT_SHUTDOWN -> new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.POWER_OFF);
            case KvmRun.KVM_SYSTEM_EVENT_RESET -> new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.RESET);
            case KvmRun.KVM_SYSTEM_EVENT_CRASH -> new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.CRASH);
            default -> new VcpuExit.Unhandled(KvmRun.KVM_EXIT_SYSTEM_EVENT, "KVM_EXIT_SYSTEM_EVENT type " + type);
        };
    }

    /** Completes the pending read with the low bytes of {@code value}, little-endian; no-op if none is pending. */
    void completeRead(long value) {
        MemorySegment target = pendingRead;
        if (target == null) return;
        for (int i = 0; i < target.byteSize(); i++) target.set(ValueLayout.JAVA_BYTE, i, (byte) (value >>> (8 * i)));
        pendingRead = null;
    }

    private static long readLittleEndian(MemorySegment bytes) {
        long v = 0;
        for (int i = (int) bytes.byteSize() - 1; i >= 0; i--) v = (v << 8) | (bytes.get(ValueLayout.JAVA_BYTE, i) & 0xff);
        return v;
    }

    private static String hex(long[] words) {
        return Arrays.stream(words).mapToObj(w -> "0x" + Long.toHexString(w)).toList().toString();
    }
}
