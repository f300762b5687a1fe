package org.jvmm.x86;

import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.platform.Assembly;
import org.jvmm.core.platform.ExitAction;
import org.jvmm.x86.boot.BootCpu;
import org.jvmm.x86.cpu.X86Vcpu;
import org.jvmm.x86.cpu.X86Vm;
import org.jvmm.x86.devices.SystemControl;
import org.jvmm.x86.devices.Uart8250;
import org.jvmm.x86.kvm.CpuidPolicy;

/**
 * A built x86 machine: puts vCPU 0 at the kernel's entry in the state its boot protocol defines, leaves
 * the application processors waiting for the guest's INIT/SIPI (KVM's in-kernel local APIC starts them),
 * and turns the exits that are not bus accesses into run-loop decisions.
 */
final class X86Assembly implements Assembly, AutoCloseable {

    private final X86Vm vm;
    private final BootCpu boot;
    private final SystemControl control;
    private final Uart8250 uart;
    private final int cpus;

    X86Assembly(X86Vm vm, int cpus, BootCpu boot, SystemControl control, Uart8250 uart) {
        this.vm = vm;
        this.cpus = cpus;
        this.boot = boot;
        this.control = control;
        this.uart = uart;
    }

    @Override
    public void initVcpu(Vcpu vcpu) {
        X86Vcpu cpu = (X86Vcpu) vcpu;
        cpu.setCpuid(CpuidPolicy.forVcpu(vm.supportedCpuid(), cpu.id(), cpus));
        if (cpu.id() == 0) {
            cpu.setSpecialRegisters(boot.specialRegisters());
            cpu.setRegisters(boot.registers());
            cpu.resetFpu();
        }
    }

    @Override
    public ExitAction handle(Vcpu vcpu, VcpuExit exit) {
        return switch (exit) {
            // With KVM's in-kernel irqchip HLT never exits; without one, a halted CPU has nothing left to do.
            case VcpuExit.Halt() -> ExitAction.STOP_VCPU;
            case VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind kind) -> switch (kind) {
                case POWER_OFF -> new ExitAction.StopMachine(0, "guest powered off");
                case RESET -> new ExitAction.StopMachine(0, "guest requested reset");
                case CRASH -> new ExitAction.StopMachine(1, "guest reported a crash on vCPU " + vcpu.id());
            };
            case VcpuExit.Shutdown(String reason) -> new ExitAction.StopMachine(1, "vCPU " + vcpu.id()
                    + " shut down (" + reason + ", usually a triple fault): " + vcpu.dumpRegisters());
            case VcpuExit.FailedEntry(long reason, String registers) -> new ExitAction.StopMachine(1,
                    "the hypervisor could not enter vCPU " + vcpu.id() + " (hardware reason 0x"
                            + Long.toHexString(reason) + "): " + registers);
            case VcpuExit.InternalError(long suberror, String registers) -> new ExitAction.StopMachine(1,
                    "the hypervisor failed on vCPU " + vcpu.id() + " (internal error " + suberror + "): " + registers);
            default -> new ExitAction.StopMachine(1, "vCPU " + vcpu.id() + " exited with " + exit
                    + ", which an x86 machine does not expect: " + vcpu.dumpRegisters());
        };
    }

    @Override
    public ExitAction.StopMachine requestedStop() {
        return control.request();
    }

    @Override
    public void close() {
        uart.close();
    }
}
