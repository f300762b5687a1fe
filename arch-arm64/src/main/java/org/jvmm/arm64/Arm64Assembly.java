package org.jvmm.arm64;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.jvmm.arm64.devices.Pl011;
import org.jvmm.arm64.psci.Psci;
import org.jvmm.arm64.psci.PsciAction;
import org.jvmm.arm64.psci.PsciResult;
import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.platform.Assembly;
import org.jvmm.core.platform.ExitAction;

/**
 * jvmm's arm64 machine once built: the boot plan it was loaded with and the PSCI state that answers the
 * guest's HVC/SMC calls.
 *
 * <p>vCPUs are {@link Arm64Vcpu}s. vCPU 0 starts at {@link #bootState()} (booting.rst). The others are
 * {@linkplain Arm64Vcpu#powerOff() powered off} until the guest's PSCI CPU_ON names them, and so is a vCPU after
 * CPU_OFF: a powered-off vCPU's run returns {@link VcpuExit.Halt} at once, and each such Halt waits a short
 * while for a CPU_ON (then sets {@link Arm64CpuState#secondary} and reports {@link Psci#cpuStarted}) — so it stays
 * responsive to pause and stop at the loop's top. A running vCPU's Halt is a {@code WFI}: it parks in
 * {@link Arm64Vcpu#awaitInterrupt()}.
 *
 * <p>System registers the hypervisor leaves to the VMM (on Hypervisor.framework: PMU, debug and OS lock,
 * implementation-defined registers) read as zero and ignore writes, as hvf-arm64.md advises: a guest such
 * as Linux probes them and copes with zero, and the exits show up in traces and statistics.
 */
public final class Arm64Assembly implements Assembly {

    private final Arm64BootPlan plan;
    private final Psci psci;
    private final List<BlockingQueue<PsciAction.StartCpu>> starts;
    private final Pl011 uart;

    Arm64Assembly(Arm64BootPlan plan, Psci psci, int cpus, Pl011 uart) {
        this.plan = plan;
        this.psci = psci;
        this.uart = uart;
        this.starts = IntStream.range(0, cpus).<BlockingQueue<PsciAction.StartCpu>>mapToObj(i -> new LinkedBlockingQueue<>()).toList();
    }

    /** Where everything was loaded. */
    public Arm64BootPlan plan() { return plan; }

    /** The PSCI state machine of this machine. */
    public Psci psci() { return psci; }

    /** The registers vCPU 0 starts with: the kernel entry, X0 = the FDT, EL1h with DAIF masked. */
    public Arm64CpuState bootState() { return Arm64CpuState.boot(plan); }

    /** The console UART (registered on the MMIO bus at {@link Arm64Layout#UART_BASE}). */
    public Pl011 uart() { return uart; }

    /** How long a powered-off vCPU waits for CPU_ON per Canceled exit: short, so pause and stop stay prompt. */
    private static final long START_POLL_MILLIS = 20;

    @Override
    public void initVcpu(Vcpu vcpu) {
        Arm64Vcpu cpu = arm64(vcpu);
        if (vcpu.id() == 0) {
            cpu.setEntryState(bootState());
        } else {
            cpu.powerOff();
        }
    }

    private static Arm64Vcpu arm64(Vcpu vcpu) {
        if (vcpu instanceof Arm64Vcpu a) return a;
        throw new IllegalArgumentException("the arm64 platform needs an Arm64Vcpu, not " + vcpu.getClass().getName());
    }

    /** A powered-off vCPU's Halt: start it if CPU_ON asked, else stay off for another round. */
    private ExitAction poweredOff(Vcpu vcpu) {
        PsciAction.StartCpu start;
        try {
            start = starts.get(vcpu.id()).poll(START_POLL_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ExitAction.STOP_VCPU;
        }
        if (start != null) {
            arm64(vcpu).setEntryState(Arm64CpuState.secondary(start));
            psci.cpuStarted(vcpu.id());
        }
        return ExitAction.CONTINUE;
    }

    private ExitAction halt(Vcpu vcpu) {
        try {
            arm64(vcpu).awaitInterrupt();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ExitAction.STOP_VCPU;
        }
        return ExitAction.CONTINUE;
    }

    /**
     * Blocks until the guest starts vCPU {@code cpu} with CPU_ON, and returns where it starts, taking the start
     * from the queue the powered-off Halt path ({@link #handle}) polls — for callers that park a secondary
     * themselves; they then set its registers and call {@link Psci#cpuStarted}.
     */
    public PsciAction.StartCpu awaitStart(int cpu) throws InterruptedException {
        return starts.get(cpu).take();
    }

    @Override
    public ExitAction handle(Vcpu vcpu, VcpuExit exit) {
        return switch (exit) {
            case VcpuExit.Hypercall h when h.conduit() != VcpuExit.Hypercall.Conduit.VMCALL -> psciCall(vcpu, h);
            case VcpuExit.SystemEvent e -> switch (e.kind()) {
                case POWER_OFF -> new ExitAction.StopMachine(0, "the guest powered off");
                case RESET -> new ExitAction.StopMachine(0, "the guest asked for a reset");
                case CRASH -> new ExitAction.StopMachine(1, "the guest reported a crash");
            };
            case VcpuExit.Halt h when psci.state(vcpu.id()) != Psci.PowerState.ON -> poweredOff(vcpu);
            case VcpuExit.Halt h -> halt(vcpu);
            case VcpuExit.Canceled c -> ExitAction.CONTINUE;
            case VcpuExit.SysRegRead r -> {
                vcpu.completeRead(0); // read-as-zero
                yield ExitAction.CONTINUE;
            }
            case VcpuExit.SysRegWrite w -> ExitAction.CONTINUE; // write-ignored
            default -> new ExitAction.StopMachine(1, "vCPU " + vcpu.id() + " stopped: " + exit);
        };
    }

    private ExitAction psciCall(Vcpu vcpu, VcpuExit.Hypercall h) {
        PsciResult r = psci.call(vcpu.id(), h.function(), h.arg0(), h.arg1(), h.arg2());
        return switch (r.action()) {
            case PsciAction.Resume ignored -> {
                vcpu.completeRead(r.x0());
                yield ExitAction.CONTINUE;
            }
            case PsciAction.StartCpu s -> {
                starts.get(s.cpu()).add(s);
                vcpu.completeRead(r.x0());
                yield ExitAction.CONTINUE;
            }
            case PsciAction.StopCaller ignored -> {
                arm64(vcpu).powerOff(); // CPU_OFF: a later CPU_ON may start it again
                yield ExitAction.CONTINUE;
            }
            case PsciAction.PowerOff ignored -> new ExitAction.StopMachine(0, "the guest powered off (PSCI SYSTEM_OFF)");
            case PsciAction.Reset ignored -> new ExitAction.StopMachine(0, "the guest asked for a reset (PSCI SYSTEM_RESET)");
        };
    }
}
