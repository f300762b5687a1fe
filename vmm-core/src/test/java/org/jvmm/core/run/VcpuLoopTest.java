package org.jvmm.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.bus.BusDevice;
import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.core.hypervisor.IoEventAddress;
import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.irq.IrqLine;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.platform.Assembly;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.core.platform.ExitAction;
import org.jvmm.core.platform.MachineConfig;
import org.jvmm.core.platform.Platform;
import org.jvmm.core.sys.EventNotifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The exit loop against a scripted vCPU: which exit goes where, what the guest gets back, and the
 * run/pause/stop state machine. The real hypervisor path is covered by the KVM conformance guests.
 */
@Timeout(30)
class VcpuLoopTest {

    /** A vCPU whose "guest" is a queue of exits; an empty queue is a guest spinning until kicked. */
    static final class ScriptedVcpu implements Vcpu {
        final BlockingQueue<VcpuExit> script = new LinkedBlockingQueue<>();
        final List<Long> completedReads = Collections.synchronizedList(new ArrayList<>());
        volatile boolean kicked;

        @Override public int id() { return 0; }

        @Override public VcpuExit run() {
            try {
                while (true) {
                    if (kicked) {
                        kicked = false;
                        return new VcpuExit.Canceled();
                    }
                    VcpuExit next = script.poll(1, TimeUnit.MILLISECONDS);
                    if (next != null) return next;
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override public void completeRead(long value) { completedReads.add(value); }
        @Override public void kick() { kicked = true; }
        @Override public String dumpRegisters() { return "rip=0"; }
        @Override public void close() {}
    }

    /** A platform with one device on each bus and power-off on SystemEvent. */
    static final class ScriptedPlatform implements Platform {
        final ScriptedVcpu vcpu = new ScriptedVcpu();
        final List<String> deviceLog = Collections.synchronizedList(new ArrayList<>());

        @Override public String arch() { return "test"; }

        @Override public Hypervisor openHypervisor() {
            return new Hypervisor() {
                @Override public String name() { return "scripted"; }
                @Override public Vm createVm(GuestMemory memory) { return new ScriptedVm(memory, vcpu); }
                @Override public void close() {}
            };
        }

        @Override public GuestMemory allocateMemory(MachineConfig config) {
            Arena arena = Arena.ofShared();
            return new GuestMemory(List.of(new MemoryRegion(0, arena.allocate(4096), -1, 0)), arena::close);
        }

        @Override public Assembly assemble(Vm vm, MachineConfig config, Bus mmio, Bus pio, List<DeviceDescription> extra) {
            pio.register(0x3f8, 8, new LoggingDevice("uart", 0x41, deviceLog));
            mmio.register(0xd000_0000L, 0x1000, new LoggingDevice("virtio", 0x74726976, deviceLog));
            return new Assembly() {
                @Override public void initVcpu(Vcpu v) {}
                @Override public ExitAction handle(Vcpu v, VcpuExit exit) {
                    return switch (exit) {
                        case VcpuExit.SystemEvent e -> new ExitAction.StopMachine(0, "guest powered off");
                        case VcpuExit.Hypercall h -> {
                            v.completeRead(h.function() + 1);
                            yield ExitAction.CONTINUE;
                        }
                        default -> new ExitAction.StopMachine(1, "unexpected " + exit);
                    };
                }
            };
        }
    }

    record LoggingDevice(String name, long readValue, List<String> log) implements BusDevice {
        @Override public long read(long offset, int size) {
            log.add(name + " read " + offset + "/" + size);
            return readValue;
        }
        @Override public void write(long offset, int size, long value) {
            log.add(name + " write " + offset + "/" + size + "=" + Long.toHexString(value));
        }
    }

    record ScriptedVm(GuestMemory memory, ScriptedVcpu vcpu) implements Vm {
        @Override public Vcpu createVcpu(int id) { return vcpu; }
        @Override public IrqLine irqLine(int gsi) { return asserted -> {}; }
        @Override public boolean supportsIoEvents() { return false; }
        @Override public void registerIoEvent(EventNotifier n, IoEventAddress a) { throw new UnsupportedOperationException(); }
        @Override public void unregisterIoEvent(EventNotifier n, IoEventAddress a) { throw new UnsupportedOperationException(); }
        @Override public void registerIrqNotifier(EventNotifier n, int gsi) { throw new UnsupportedOperationException(); }
        @Override public void close() {}
    }

    private static Machine machine(ScriptedPlatform p, List<String> observed) {
        return Machine.builder(p).kernel(Path.of("unused"))
                .observer((cpu, exit, device, value, nanos) ->
                        observed.add(exit.getClass().getSimpleName() + "@" + device + "=" + Long.toHexString(value)))
                .build();
    }

    @Test
    void busExitsReachTheirDevicesAndReadsAreCompleted() throws Exception {
        ScriptedPlatform p = new ScriptedPlatform();
        List<String> observed = Collections.synchronizedList(new ArrayList<>());
        p.vcpu.script.addAll(List.of(
                new VcpuExit.IoOut(0x3f8, 1, 0x48),
                new VcpuExit.IoIn(0x3fd, 1),
                new VcpuExit.IoIn(0x80, 2),                        // nothing there: all-ones
                new VcpuExit.MmioWrite(0xd000_0070L, 4, 0xf),
                new VcpuExit.MmioRead(0xd000_0000L, 4),
                new VcpuExit.Hypercall(VcpuExit.Hypercall.Conduit.HVC, 0x84000000L, 0, 0, 0, 0),
                new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.POWER_OFF)));
        try (Machine m = machine(p, observed)) {
            MachineExit exit = m.run();
            assertEquals(new MachineExit(0, "guest powered off"), exit);
            assertEquals(List.of("uart write 0/1=48", "uart read 5/1", "virtio write 112/4=f", "virtio read 0/4"), p.deviceLog);
            assertEquals(List.of(0x41L, 0xffffL, 0x74726976L, 0x84000001L), p.vcpu.completedReads);
            assertEquals(List.of("IoOut@uart=48", "IoIn@uart=41", "IoIn@unclaimed=ffff", "MmioWrite@virtio=f",
                    "MmioRead@virtio=74726976", "Hypercall@platform=0", "SystemEvent@platform=0"), observed);
            assertEquals(1, m.pioBus().unclaimedAccesses());
        }
    }

    @Test
    void pauseKicksTheSpinningVcpuOutAndResumeLetsItRunOn() throws Exception {
        ScriptedPlatform p = new ScriptedPlatform();
        List<String> observed = Collections.synchronizedList(new ArrayList<>());
        try (Machine m = machine(p, observed)) {
            m.start();
            VcpuLoop loop = m.vcpus().getFirst();
            m.pause();
            assertTrue(loop.awaitState(VcpuLoop.State.PAUSED, 10_000), "vCPU did not pause");
            p.vcpu.script.add(new VcpuExit.IoOut(0x3f8, 1, 0x21));
            Thread.sleep(50);
            assertEquals(List.of(), p.deviceLog, "a paused vCPU ran guest code");
            m.resume();
            assertTrue(loop.awaitState(VcpuLoop.State.RUNNING, 10_000), "vCPU did not resume");
            p.vcpu.script.add(new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.RESET));
            assertEquals(0, m.awaitExit().exitCode());
            assertEquals(List.of("uart write 0/1=21"), p.deviceLog);
            assertEquals(VcpuLoop.State.STOPPED, loop.state());
        }
    }

    @Test
    void stopEndsASpinningVcpu() throws Exception {
        ScriptedPlatform p = new ScriptedPlatform();
        try (Machine m = machine(p, new ArrayList<>())) {
            m.start();
            m.stop("test over");
            assertEquals(new MachineExit(0, "test over"), m.awaitExit());
            assertEquals(VcpuLoop.State.STOPPED, m.vcpus().getFirst().state());
        }
    }

    @Test
    void anUnexpectedExitStopsTheMachineWithAnError() throws Exception {
        ScriptedPlatform p = new ScriptedPlatform();
        p.vcpu.script.add(new VcpuExit.Shutdown("triple fault"));
        try (Machine m = machine(p, new ArrayList<>())) {
            MachineExit exit = m.run();
            assertEquals(1, exit.exitCode());
            assertTrue(exit.reason().contains("triple fault"), exit.reason());
        }
    }
}
