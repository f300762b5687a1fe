package org.jvmm.core.hypervisor;

/**
 * Why a virtual CPU stopped running guest code and came back to the VMM.
 *
 * <p>This is the whole vocabulary of the exit loop; every backend (KVM, Hypervisor.framework x86 and
 * arm64) translates its native exit into one of these records. Reads are completed with
 * {@link Vcpu#completeRead(long)} before the next {@link Vcpu#run()}; the backend then puts the value
 * where the guest expects it (KVM: the {@code kvm_run} data area; HVF arm64: the target register
 * and PC + 4; HVF x86: the decoded instruction's destination), so that difference never reaches the
 * loop.
 *
 * <p>Values are little-endian and zero-extended to {@code long}; sizes are in bytes.
 */
public sealed interface VcpuExit {

    /** The guest read {@code size} bytes from I/O port {@code port}; complete with the value. */
    record IoIn(int port, int size) implements VcpuExit {}

    /** The guest wrote {@code value} ({@code size} bytes) to I/O port {@code port}. */
    record IoOut(int port, int size, long value) implements VcpuExit {}

    /** The guest read {@code size} bytes at guest-physical {@code address} that no RAM backs. */
    record MmioRead(long address, int size) implements VcpuExit {}

    /** The guest wrote {@code value} ({@code size} bytes) at guest-physical {@code address}. */
    record MmioWrite(long address, int size, long value) implements VcpuExit {}

    /**
     * The guest read a system register that the hypervisor leaves to the VMM (arm64: an MRS that
     * Hypervisor.framework traps, such as the PMU or debug registers); complete with the value.
     *
     * @param register the architecture's encoding (arm64: {@code op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2},
     *                 Hypervisor.framework's {@code hv_sys_reg_t})
     * @param name     the register's architectural name, or its encoding spelled out, for traces
     */
    record SysRegRead(long register, String name) implements VcpuExit {}

    /** The guest wrote {@code value} to a system register that the hypervisor leaves to the VMM (arm64: a trapped MSR). */
    record SysRegWrite(long register, String name, long value) implements VcpuExit {}

    /**
     * The vCPU halted (x86 {@code HLT} with no in-kernel interrupt controller, arm64 {@code WFI}) and
     * has nothing to do until an interrupt arrives.
     */
    record Halt() implements VcpuExit {}

    /** The guest called the hypervisor ({@code VMCALL}, {@code HVC}, {@code SMC}); complete with the result. */
    record Hypercall(Conduit conduit, long function, long arg0, long arg1, long arg2, long arg3) implements VcpuExit {
        /** The instruction the guest used. */
        public enum Conduit { VMCALL, HVC, SMC }
    }

    /** The guest asked the platform to power off, reset or report a crash (PSCI, ACPI, i8042 ...). */
    record SystemEvent(Kind kind) implements VcpuExit {
        /** What the guest asked for. */
        public enum Kind { POWER_OFF, RESET, CRASH }
    }

    /** The vCPU shut down on its own: an x86 triple fault or an unrecoverable guest state. */
    record Shutdown(String reason) implements VcpuExit {}

    /** The run was interrupted by {@link Vcpu#kick()} (or a signal) before or during guest execution. */
    record Canceled() implements VcpuExit {}

    /** The hypervisor refused to enter the guest; {@code registers} is a dump for the user. */
    record FailedEntry(long hardwareReason, String registers) implements VcpuExit {}

    /** The hypervisor hit an internal error (e.g. KVM's emulator failed); {@code registers} is a dump. */
    record InternalError(long suberror, String registers) implements VcpuExit {}

    /** An exit this vocabulary has no name for: the backend's raw reason and its own description. */
    record Unhandled(long rawReason, String description) implements VcpuExit {}
}
