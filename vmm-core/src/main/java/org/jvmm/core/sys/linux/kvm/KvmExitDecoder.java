package org.jvmm.core.sys.linux.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.Supplier;
import org.jvmm.core.hypervisor.VcpuExit;

/**
 * Turns what {@code KVM_RUN} left in {@code kvm_run} into {@link VcpuExit}s, and puts completed reads back
 * where KVM takes them on the next entry: the part of that translation every architecture shares (MMIO,
 * system events, interrupted runs, internal errors, failed entries). The x86 and arm64 backends extend it
 * with their own exits ({@link #decodeArch}).
 *
 * <p>Works on the {@code kvm_run} memory only (no system calls), so it can be tested on hand-made contents.
 * A read left uncompleted returns all-ones to the guest, like an unclaimed bus read: the data area is filled
 * with 0xff before the exit is returned. Sizes the kernel reports are checked; values outside what the ABI
 * allows give {@link VcpuExit.Unhandled}, never an access outside the mapping.
 *
 * <p>Used on the vCPU's thread only.
 */
public abstract class KvmExitDecoder {

    private static final VcpuExit CANCELED = new VcpuExit.Canceled();

    /** The vCPU's {@code kvm_run}. */
    protected final KvmRun run;
    /** Where {@link #completeRead} puts the value of the read returned last; null if none is pending. */
    private MemorySegment pendingRead;

    protected KvmExitDecoder(KvmRun run) {
        this.run = run;
    }

    /** Forgets an uncompleted read (its data area already holds all-ones); call before every run. */
    public void startRun() {
        pendingRead = null;
    }

    /** The exit {@code KVM_RUN} just returned; {@code registers} dumps the vCPU for failure exits. */
    public VcpuExit decode(Supplier<String> registers) {
        int reason = run.exitReason();
        return switch (reason) {
            case KvmRun.KVM_EXIT_MMIO -> mmioExit();
            case KvmRun.KVM_EXIT_SYSTEM_EVENT -> systemEvent();
            case KvmRun.KVM_EXIT_INTR -> CANCELED;
            case KvmRun.KVM_EXIT_INTERNAL_ERROR -> new VcpuExit.InternalError(Integer.toUnsignedLong(run.internalSuberror()),
                    registers.get() + "\ninternal error data: " + hex(run.internalData()));
            case KvmRun.KVM_EXIT_FAIL_ENTRY -> new VcpuExit.FailedEntry(run.failEntryReason(),
                    registers.get() + "\nfailed on host cpu " + run.failEntryCpu());
            default -> decodeArch(reason, registers);
        };
    }

    /** The exits only this architecture has; the default names the reason as {@link VcpuExit.Unhandled}. */
    protected VcpuExit decodeArch(int reason, Supplier<String> registers) {
        return new VcpuExit.Unhandled(Integer.toUnsignedLong(reason), KvmRun.exitName(reason));
    }

    /** Whether KVM may report an MMIO access of {@code length} bytes on this architecture: 1 to 8 by default. */
    protected boolean validMmioLength(int length) {
        return length >= 1 && length <= 8;
    }

    /** Completes the pending read with the low bytes of {@code value}, little-endian; no-op if none is pending. */
    public void completeRead(long value) {
        MemorySegment target = pendingRead;
        if (target == null) return;
        for (int i = 0; i < target.byteSize(); i++) target.set(ValueLayout.JAVA_BYTE, i, (byte) (value >>> (8 * i)));
        pendingRead = null;
    }

    /** Makes {@code data} the destination of the next {@link #completeRead}, all-ones until then. */
    protected void pendRead(MemorySegment data) {
        data.fill((byte) 0xff);
        pendingRead = data;
    }

    /** The bytes as a little-endian unsigned value (at most 8). */
    protected static long readLittleEndian(MemorySegment bytes) {
        long v = 0;
        for (int i = (int) bytes.byteSize() - 1; i >= 0; i--) v = (v << 8) | (bytes.get(ValueLayout.JAVA_BYTE, i) & 0xff);
        return v;
    }

    private VcpuExit mmioExit() {
        int length = run.mmioLength();
        long address = run.mmioAddress();
        if (!validMmioLength(length)) return new VcpuExit.Unhandled(KvmRun.KVM_EXIT_MMIO, "MMIO of length " + length);
        MemorySegment data = run.mmioData().asSlice(0, length);
        if (run.mmioIsWrite()) return new VcpuExit.MmioWrite(address, length, readLittleEndian(data));
        pendRead(data);
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

    private static String hex(long[] words) {
        return Arrays.stream(words).mapToObj(w -> "0x" + Long.toHexString(w)).toList().toString();
    }
}
