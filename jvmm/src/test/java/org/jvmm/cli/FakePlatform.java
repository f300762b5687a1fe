package org.jvmm.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
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
import org.jvmm.core.platform.VirtioMmioSlots;
import org.jvmm.core.sys.EventNotifier;

/**
 * A platform whose "guest" is a script chosen by the kernel command line, so the command's run path
 * (console, exit status, observers, Ctrl-A x) can be tested without a hypervisor:
 * <ul>
 *   <li>{@code hello}: writes "hi" to the console port, reads an unclaimed port, powers off;</li>
 *   <li>{@code devices}: prints the rest of the command line, if any, and each virtio-mmio device described to it
 *       (slot, interrupt, device ID), powers off;</li>
 *   <li>{@code crash}: an internal hypervisor error;</li>
 *   <li>{@code echo}: copies console input to console output until the input ends; the vCPU spins.</li>
 * </ul>
 */
final class FakePlatform implements Platform {

    private final String arch;

    FakePlatform(String arch) {
        this.arch = arch;
    }

    @Override public String arch() { return arch; }

    @Override public Hypervisor openHypervisor() {
        return new Hypervisor() {
            @Override public String name() { return "fake"; }
            @Override public Vm createVm(GuestMemory memory) { return new FakeVm(memory); }
            @Override public void close() {}
        };
    }

    /** Three slots, for the --disk, --net and --console tests. */
    @Override public VirtioMmioSlots virtioMmioSlots() {
        return new VirtioMmioSlots(0x1000_0000L, 0x1000, List.of(5, 6, 7));
    }

    @Override public GuestMemory allocateMemory(MachineConfig config) {
        Arena arena = Arena.ofShared();
        return new GuestMemory(List.of(new MemoryRegion(0, arena.allocate(4096), -1, 0)), arena::close);
    }

    @Override public Assembly assemble(Vm vm, MachineConfig config, Bus mmio, Bus pio, List<DeviceDescription> extra) {
        FakeVcpu vcpu = ((FakeVm) vm).vcpu;
        pio.register(0x3f8, 8, new BusDevice() {
            @Override public String name() { return "uart@0x3f8"; }
            @Override public long read(long offset, int size) { return 0; }
            @Override public void write(long offset, int size, long value) {
                try {
                    config.consoleOut().write((int) value);
                    config.consoleOut().flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        });
        String[] words = config.cmdline().split(" ", 2);
        switch (words[0]) {
            case "hello" -> vcpu.script.addAll(List.of(new VcpuExit.IoOut(0x3f8, 1, 'h'), new VcpuExit.IoOut(0x3f8, 1, 'i'),
                    new VcpuExit.IoIn(0x70, 1), new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.POWER_OFF)));
            case "devices" -> {
                // What the guest would find: each described device's slot, interrupt and virtio device ID.
                StringBuilder found = new StringBuilder();
                if (words.length > 1) found.append("cmdline ").append(words[1]).append('\n');
                for (DeviceDescription d : extra) {
                    found.append("%s 0x%x irq %d id %d%n".formatted(d.kind(), d.mmioBase(), d.irq(), mmio.read(d.mmioBase() + 8, 4)));
                }
                try {
                    config.consoleOut().write(found.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                vcpu.script.add(new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.POWER_OFF));
            }
            case "crash" -> vcpu.script.add(new VcpuExit.InternalError(1, "rip=0xfff0\nrsp=0"));
            case "echo" -> Thread.ofPlatform().daemon().start(() -> echo(config.consoleIn(), config.consoleOut()));
            default -> throw new IllegalArgumentException("no script " + config.cmdline());
        }
        return new Assembly() {
            @Override public void initVcpu(Vcpu v) {}
            @Override public ExitAction handle(Vcpu v, VcpuExit exit) {
                return switch (exit) {
                    case VcpuExit.SystemEvent e -> new ExitAction.StopMachine(0, "guest powered off");
                    case VcpuExit.InternalError e -> new ExitAction.StopMachine(1, "KVM internal error " + e.suberror()
                            + "\n" + e.registers());
                    default -> ExitAction.CONTINUE;
                };
            }
        };
    }

    /** A UART's receive thread and the guest's echo in one: each byte is written back before the next is read. */
    private static void echo(InputStream in, OutputStream out) {
        try {
            for (int b; (b = in.read()) >= 0; ) {
                out.write(b);
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A vCPU whose guest is a queue of exits; with an empty queue it spins until kicked. */
    static final class FakeVcpu implements Vcpu {
        final BlockingQueue<VcpuExit> script = new LinkedBlockingQueue<>();
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
        @Override public void completeRead(long value) {}
        @Override public void kick() { kicked = true; }
        @Override public String dumpRegisters() { return ""; }
        @Override public void close() {}
    }

    static final class FakeVm implements Vm {
        final GuestMemory memory;
        final FakeVcpu vcpu = new FakeVcpu();

        FakeVm(GuestMemory memory) { this.memory = memory; }

        @Override public GuestMemory memory() { return memory; }
        @Override public Vcpu createVcpu(int id) { return vcpu; }
        @Override public IrqLine irqLine(int gsi) { return asserted -> {}; }
        @Override public boolean supportsIoEvents() { return false; }
        @Override public void registerIoEvent(EventNotifier n, IoEventAddress a) { throw new UnsupportedOperationException(); }
        @Override public void unregisterIoEvent(EventNotifier n, IoEventAddress a) { throw new UnsupportedOperationException(); }
        @Override public void registerIrqNotifier(EventNotifier n, int gsi) { throw new UnsupportedOperationException(); }
        @Override public void close() {}
    }
}
