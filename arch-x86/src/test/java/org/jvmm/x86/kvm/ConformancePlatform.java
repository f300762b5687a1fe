package org.jvmm.x86.kvm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.platform.Assembly;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.core.platform.ExitAction;
import org.jvmm.core.platform.MachineConfig;
import org.jvmm.core.platform.Platform;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.x86.X86Layout;
import org.jvmm.x86.boot.BootGdt;
import org.jvmm.x86.boot.BootRegisters;
import org.jvmm.x86.boot.PageTables;
import org.jvmm.x86.cpu.Segment;
import org.jvmm.x86.cpu.X86Registers;
import org.jvmm.x86.cpu.X86SpecialRegisters;
import org.jvmm.x86.cpu.X86Vcpu;

/**
 * A minimal x86 platform for the conformance guests, so they run through the real {@code Machine} and
 * {@code VcpuLoop}: loads the flat guest binary (the builder's "kernel"), enters it in real mode at
 * {@link Guests#REAL_MODE_ENTRY} or in long mode at {@link Guests#LONG_MODE_ENTRY} (with the boot page
 * tables, GDT and registers a Linux kernel gets), gives vCPU {@code n} RBX = n, and lets the test wire its
 * devices. With the in-kernel irqchip only vCPU 0 is set up: the others wait for the guest's INIT/SIPI. A halted vCPU stops; the machine stops when all have halted.
 */
final class ConformancePlatform implements Platform {

    enum Mode { REAL, LONG }

    /** What a test gets to attach its devices to. */
    record Wiring(Vm vm, Bus mmio, Bus pio, GuestMemory memory) {}

    private final Mode mode;
    private final boolean irqchip;
    private final Consumer<Wiring> wiring;
    /** The registers of each vCPU when it halted, in order of halting. */
    final List<X86Registers> haltRegisters = new CopyOnWriteArrayList<>();
    /** Non-bus exits the platform was asked about. */
    final List<VcpuExit> platformExits = new CopyOnWriteArrayList<>();

    ConformancePlatform(Mode mode, boolean irqchip, Consumer<Wiring> wiring) {
        this.mode = mode;
        this.irqchip = irqchip;
        this.wiring = wiring;
    }

    @Override
    public String arch() {
        return "x86_64-conformance";
    }

    @Override
    public Hypervisor openHypervisor() {
        return KvmX86Hypervisor.open(Guests.options(irqchip));
    }

    @Override
    public GuestMemory allocateMemory(MachineConfig config) {
        return SharedGuestMemory.allocate(List.of(new MemoryRange(0, config.memoryBytes())));
    }

    @Override
    public Assembly assemble(Vm vm, MachineConfig config, Bus mmio, Bus pio, List<DeviceDescription> extraDevices) {
        byte[] guest;
        try {
            guest = Files.readAllBytes(config.kernel());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        GuestMemory memory = vm.memory();
        if (mode == Mode.REAL) {
            memory.write(Guests.REAL_MODE_ENTRY, guest);
        } else {
            memory.write(Guests.LONG_MODE_ENTRY, guest);
            PageTables.write(memory);
            memory.write(X86Layout.GDT, BootGdt.bytes());
        }
        wiring.accept(new Wiring(vm, mmio, pio, memory));
        KvmX86Vm x86 = (KvmX86Vm) vm;
        int cpus = config.cpus();
        AtomicInteger halted = new AtomicInteger();
        return new Assembly() {
            @Override
            public void initVcpu(Vcpu vcpu) {
                X86Vcpu x = (X86Vcpu) vcpu;
                // CPUID first: KVM refuses EFER.LME unless the guest's CPUID offers long mode.
                x.setCpuid(CpuidPolicy.forVcpu(x86.supportedCpuid(), x.id(), cpus));
                x.resetFpu();
                // With the in-kernel irqchip, secondary vCPUs wait for INIT/SIPI from the guest, as on a PC.
                if (irqchip && x.id() > 0) return;
                if (mode == Mode.REAL) {
                    x.setSpecialRegisters(realMode(x.specialRegisters()));
                    x.setRegisters(X86Registers.RESET.withRip(Guests.REAL_MODE_ENTRY).withRbx(x.id()));
                } else {
                    x.setSpecialRegisters(BootRegisters.special());
                    x.setRegisters(BootRegisters.general(Guests.LONG_MODE_ENTRY).withRbx(x.id()));
                }
            }

            @Override
            public ExitAction handle(Vcpu vcpu, VcpuExit exit) {
                platformExits.add(exit);
                if (exit instanceof VcpuExit.Halt) {
                    haltRegisters.add(((X86Vcpu) vcpu).registers());
                    return halted.incrementAndGet() == cpus ? new ExitAction.StopMachine(0, "all vCPUs halted")
                            : ExitAction.STOP_VCPU;
                }
                return new ExitAction.StopMachine(1, exit.toString());
            }
        };
    }

    /** The reset state with CS based at 0 instead of the reset vector's 0xffff0000. */
    private static X86SpecialRegisters realMode(X86SpecialRegisters s) {
        Segment cs = new Segment(0, 0xffff, 0, 0xb, true, 0, false, true, false, false, false, false);
        return new X86SpecialRegisters(cs, s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt(), s.gdt(), s.idt(),
                s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase());
    }
}
