package org.jvmm.x86.kvm;

import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.sys.linux.kvm.KvmExitDecoder;
import org.jvmm.core.sys.linux.kvm.KvmRun;

/**
 * The x86 exits of {@code KVM_RUN} on top of the shared {@link KvmExitDecoder}: port I/O, HLT and shutdown.
 *
 * <p>String port I/O ({@code rep ins/outs}) reaches user space as one {@code KVM_EXIT_IO} with
 * {@code count > 1} elements in the data page; {@link #nextStringElement()} hands the remaining elements
 * out one by one, without re-entering the guest, so the run loop and devices only see single accesses.
 * Sizes, counts and data offsets the kernel reports are checked against the ABI and the mapping.
 */
final class X86ExitDecoder extends KvmExitDecoder {

    private static final VcpuExit HALT = new VcpuExit.Halt();

    // The port-I/O exit being handed out element by element.
    private MemorySegment ioData;
    private int ioPort, ioSize;
    private long ioCount, ioNext;
    private boolean ioOut;

    X86ExitDecoder(KvmRun run) {
        super(run);
    }

    /** The next element of a string I/O exit still being handed out, or null if none is left. */
    VcpuExit nextStringElement() {
        return ioNext < ioCount ? nextIoElement() : null;
    }

    @Override
    protected VcpuExit decodeArch(int reason, Supplier<String> registers) {
        return switch (reason) {
            case KvmRun.KVM_EXIT_IO -> ioExit();
            case KvmRun.KVM_EXIT_HLT -> HALT;
            case KvmRun.KVM_EXIT_SHUTDOWN -> new VcpuExit.Shutdown("KVM_EXIT_SHUTDOWN: triple fault or unrecoverable guest state");
            default -> super.decodeArch(reason, registers);
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
        pendRead(element);
        return new VcpuExit.IoIn(ioPort, ioSize);
    }
}
