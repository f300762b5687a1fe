package org.jvmm.x86.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.sys.linux.kvm.KvmRun;
import org.jvmm.core.sys.linux.kvm.KvmVcpuFd;
import org.jvmm.x86.cpu.CpuidEntry;
import org.jvmm.x86.cpu.Segment;
import org.jvmm.x86.cpu.X86Registers;
import org.jvmm.x86.cpu.X86SpecialRegisters;
import org.jvmm.x86.cpu.X86Vcpu;

/**
 * An x86-64 vCPU on KVM: translates {@code kvm_run} exits into {@link VcpuExit}s and completes reads in
 * {@code kvm_run}'s data areas.
 *
 * <p>String port I/O ({@code rep ins/outs}) reaches user space as one {@code KVM_EXIT_IO} with
 * {@code count > 1} elements in the data page; this class hands the elements to the run loop one by one,
 * as successive {@link VcpuExit.IoIn}/{@link VcpuExit.IoOut} exits, without re-entering the guest, so the
 * run loop and the devices only ever see single accesses. The guest continues once the last element is
 * done.
 *
 * <p>A read that the run loop leaves uncompleted returns all-ones to the guest, like an unclaimed bus
 * read: the data area is filled with 0xff before the exit is returned.
 */
public final class KvmX86Vcpu implements X86Vcpu {

    private static final VcpuExit HALT = new VcpuExit.Halt();
    private static final VcpuExit CANCELED = new VcpuExit.Canceled();

    private final KvmVcpuFd vcpu;
    private final KvmRun run;
    private final int id;
    private final Thread owner = Thread.currentThread();

    // The port-I/O exit being handed out element by element.
    private MemorySegment ioData;
    private int ioPort, ioSize;
    private long ioCount, ioNext;
    private boolean ioOut;
    /** Where {@link #completeRead} puts the value of the read returned last; null if none is pending. */
    private MemorySegment pendingRead;

    KvmX86Vcpu(KvmVcpuFd vcpu, int id) {
        this.vcpu = vcpu;
        this.run = vcpu.kvmRun();
        this.id = id;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public VcpuExit run() {
        checkThread();
        pendingRead = null;
        if (ioNext < ioCount) return nextIoElement();
        if (!vcpu.run()) return CANCELED;
        int reason = run.exitReason();
        return switch (reason) {
            case KvmRun.KVM_EXIT_IO -> ioExit();
            case KvmRun.KVM_EXIT_MMIO -> mmioExit();
            case KvmRun.KVM_EXIT_HLT -> HALT;
            case KvmRun.KVM_EXIT_SHUTDOWN -> new VcpuExit.Shutdown("KVM_EXIT_SHUTDOWN: triple fault or unrecoverable guest state");
            case KvmRun.KVM_EXIT_SYSTEM_EVENT -> systemEvent();
            case KvmRun.KVM_EXIT_INTERNAL_ERROR -> new VcpuExit.InternalError(run.internalSuberror(),
                    dumpRegisters() + "\ninternal error data: " + hex(run.internalData()));
            case KvmRun.KVM_EXIT_FAIL_ENTRY -> new VcpuExit.FailedEntry(run.failEntryReason(),
                    dumpRegisters() + "\nfailed on host cpu " + run.failEntryCpu());
            case KvmRun.KVM_EXIT_INTR -> CANCELED;
            default -> new VcpuExit.Unhandled(reason, KvmRun.exitName(reason));
        };
    }

    private VcpuExit ioExit() {
        int size = run.ioSize();
        if (size != 1 && size != 2 && size != 4) return new VcpuExit.Unhandled(KvmRun.KVM_EXIT_IO, "port I/O of size " + size);
        ioData = run.ioData();
        ioPort = run.ioPort();
        ioSize = size;
        ioOut = run.ioIsOut();
        ioCount = run.ioCount();
        ioNext = 0;
        if (ioCount == 0) return new VcpuExit.Unhandled(KvmRun.KVM_EXIT_IO, "port I/O with count 0");
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

    private static long readLittleEndian(MemorySegment bytes) {
        long v = 0;
        for (int i = (int) bytes.byteSize() - 1; i >= 0; i--) v = (v << 8) | (bytes.get(ValueLayout.JAVA_BYTE, i) & 0xff);
        return v;
    }

    @Override
    public void completeRead(long value) {
        MemorySegment target = pendingRead;
        if (target == null) return; // nothing to complete (a write, or already completed)
        for (int i = 0; i < target.byteSize(); i++) target.set(ValueLayout.JAVA_BYTE, i, (byte) (value >>> (8 * i)));
        pendingRead = null;
    }

    @Override
    public void kick() {
        vcpu.kick();
    }

    @Override
    public X86Registers registers() {
        checkThread();
        return KvmX86Binding.getRegisters(vcpu.fd());
    }

    @Override
    public void setRegisters(X86Registers registers) {
        checkThread();
        KvmX86Binding.setRegisters(vcpu.fd(), registers);
    }

    @Override
    public X86SpecialRegisters specialRegisters() {
        checkThread();
        return KvmX86Binding.getSpecialRegisters(vcpu.fd());
    }

    @Override
    public void setSpecialRegisters(X86SpecialRegisters registers) {
        checkThread();
        KvmX86Binding.setSpecialRegisters(vcpu.fd(), registers);
    }

    @Override
    public void setCpuid(List<CpuidEntry> entries) {
        checkThread();
        KvmX86Binding.setCpuid(vcpu.fd(), entries);
    }

    @Override
    public void setMsrs(Map<Integer, Long> msrs) {
        checkThread();
        KvmX86Binding.setMsrs(vcpu.fd(), msrs);
    }

    @Override
    public void resetFpu() {
        checkThread();
        KvmX86Binding.resetFpu(vcpu.fd());
    }

    /** {@code KVM_GET_MP_STATE}: whether the vCPU is runnable (0), waiting for INIT/SIPI (1), halted (3) ... */
    public int mpState() {
        checkThread();
        return KvmX86Binding.getMpState(vcpu.fd());
    }

    @Override
    public String dumpRegisters() {
        try {
            X86Registers r = KvmX86Binding.getRegisters(vcpu.fd());
            X86SpecialRegisters s = KvmX86Binding.getSpecialRegisters(vcpu.fd());
            return """
                    vCPU %d: rip=%016x rflags=%016x
                      rax=%016x rbx=%016x rcx=%016x rdx=%016x
                      rsi=%016x rdi=%016x rsp=%016x rbp=%016x
                      r8 =%016x r9 =%016x r10=%016x r11=%016x
                      r12=%016x r13=%016x r14=%016x r15=%016x
                      cr0=%016x cr2=%016x cr3=%016x cr4=%016x efer=%016x
                      cs=%s ss=%s ds=%s
                      gdt=%x/%x idt=%x/%x""".formatted(id, r.rip(), r.rflags(), r.rax(), r.rbx(), r.rcx(), r.rdx(),
                    r.rsi(), r.rdi(), r.rsp(), r.rbp(), r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(),
                    r.r15(), s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.efer(), seg(s.cs()), seg(s.ss()), seg(s.ds()),
                    s.gdt().base(), s.gdt().limit(), s.idt().base(), s.idt().limit());
        } catch (RuntimeException e) {
            return "vCPU " + id + ": registers unavailable (" + e.getMessage() + ")";
        }
    }

    private static String seg(Segment s) {
        return "%04x(base=%x limit=%x type=%x%s)".formatted(s.selector(), s.base(), s.limit(), s.type(), s.l() ? " L" : "");
    }

    private static String hex(long[] words) {
        return Arrays.stream(words).mapToObj(w -> "0x" + Long.toHexString(w)).toList().toString();
    }

    private void checkThread() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("vCPU " + id + " used from " + Thread.currentThread().getName()
                    + " but it belongs to " + owner.getName());
        }
    }

    @Override
    public void close() {
        vcpu.close();
    }
}
