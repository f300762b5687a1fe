package org.jvmm.x86;

import java.util.ArrayList;
import java.util.List;
import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.platform.Assembly;
import org.jvmm.core.platform.ExitAction;
import org.jvmm.x86.boot.BootRegisters;
import org.jvmm.x86.cpu.CpuidEntry;
import org.jvmm.x86.cpu.X86Vcpu;
import org.jvmm.x86.cpu.X86Vm;
import org.jvmm.x86.devices.SystemControl;
import org.jvmm.x86.devices.Uart8250;

/**
 * A built x86 machine: puts vCPU 0 at the kernel's 64-bit entry, leaves the application processors
 * waiting for the guest's INIT/SIPI (KVM's in-kernel local APIC starts them), and turns the exits that
 * are not bus accesses into run-loop decisions.
 */
final class X86Assembly implements Assembly, AutoCloseable {

    private final X86Vm vm;
    private final long entry;
    private final SystemControl control;
    private final Uart8250 uart;

    X86Assembly(X86Vm vm, long entry, SystemControl control, Uart8250 uart) {
        this.vm = vm;
        this.entry = entry;
        this.control = control;
        this.uart = uart;
    }

    @Override
    public void initVcpu(Vcpu vcpu) {
        X86Vcpu cpu = (X86Vcpu) vcpu;
        cpu.setCpuid(cpuid(vm.supportedCpuid(), cpu.id()));
        if (cpu.id() == 0) {
            cpu.setSpecialRegisters(BootRegisters.special());
            cpu.setRegisters(BootRegisters.general(entry));
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

    /**
     * What CPUID tells vCPU {@code id}: the backend's supported leaves with this CPU's initial APIC ID
     * (leaf 1 EBX[31:24], leaf 0xb EDX), so each CPU finds itself in the MADT.
     */
    static List<CpuidEntry> cpuid(List<CpuidEntry> supported, int id) {
        List<CpuidEntry> out = new ArrayList<>(supported.size());
        for (CpuidEntry e : supported) {
            if (e.function() == 1) {
                e = new CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), (e.ebx() & 0x00ffffff) | (id << 24),
                        e.ecx(), e.edx());
            } else if (e.function() == 0xb) {
                e = new CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), e.ebx(), e.ecx(), id);
            }
            out.add(e);
        }
        return out;
    }
}
