package org.jvmm.arm64;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
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
 * <p>The backends (HVF arm64, KVM arm64) are not written yet, so {@link #initVcpu} is a placeholder: it
 * needs arch-specific register access ({@code Arm64Vcpu}, to come with them). What it must set is ready:
 * {@link #bootState()} for vCPU 0 (booting.rst), and for the others {@link Arm64CpuState#secondary} of what
 * {@link #awaitStart} returns once the guest's PSCI CPU_ON names them.
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

    @Override
    public void initVcpu(Vcpu vcpu) {
        throw new UnsupportedOperationException("arm64 vCPU initialisation needs an arm64 backend (KVM arm64 or"
                + " Hypervisor.framework), which this build does not have yet");
    }

    /**
     * Blocks a powered-off secondary vCPU's thread until the guest starts it with CPU_ON, and returns where
     * it starts. The backend then sets PC and X0 and calls {@link Psci#cpuStarted}.
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
            case VcpuExit.Halt h -> ExitAction.CONTINUE;
            case VcpuExit.Canceled c -> ExitAction.CONTINUE;
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
            case PsciAction.StopCaller ignored -> ExitAction.STOP_VCPU;
            case PsciAction.PowerOff ignored -> new ExitAction.StopMachine(0, "the guest powered off (PSCI SYSTEM_OFF)");
            case PsciAction.Reset ignored -> new ExitAction.StopMachine(0, "the guest asked for a reset (PSCI SYSTEM_RESET)");
        };
    }
}
