package org.jvmm.core.run;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.observe.ExitObserver;
import org.jvmm.core.platform.Assembly;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.core.platform.MachineConfig;
import org.jvmm.core.platform.Platform;

/**
 * A running virtual machine: the embedding API.
 *
 * <pre>{@code
 * try (Machine m = Machine.builder(Platforms.forArch("x86_64"))
 *         .kernel(Path.of("bzImage")).memory(512 << 20).cpus(2)
 *         .observer((cpu, exit, device, value, nanos) -> System.out.println(exit))
 *         .build()) {
 *     MachineExit result = m.run();
 * }
 * }</pre>
 *
 * <p>{@link #start()} launches one {@link VcpuLoop} per vCPU; {@link #awaitExit()} waits until the guest
 * powers off, reboots or fails, or until {@link #stop()}. Closing stops the loops and releases the vCPUs,
 * the VM, guest memory and the hypervisor, in that order.
 */
public final class Machine implements AutoCloseable {

    private final Hypervisor hypervisor;
    private final Vm vm;
    private final GuestMemory memory;
    private final Bus mmio;
    private final Bus pio;
    private final List<VcpuLoop> loops = new ArrayList<>();
    private final ExitObserver observer;
    private final CompletableFuture<MachineExit> exit = new CompletableFuture<>();
    private final List<AutoCloseable> resources;

    private Machine(Hypervisor hypervisor, Vm vm, GuestMemory memory, Bus mmio, Bus pio, Assembly assembly,
                    int cpus, ExitObserver observer, List<AutoCloseable> resources) {
        this.hypervisor = hypervisor;
        this.vm = vm;
        this.memory = memory;
        this.mmio = mmio;
        this.pio = pio;
        this.observer = observer;
        this.resources = resources;
        for (int i = 0; i < cpus; i++) {
            loops.add(new VcpuLoop(i, vm, mmio, pio, assembly, observer, this::stopMachine));
        }
    }

    /** Starts building a machine for {@code platform}. */
    public static Builder builder(Platform platform) {
        return new Builder(platform);
    }

    /** The VM, for devices that register ioevents and irq notifiers. */
    public Vm vm() { return vm; }

    /** Guest RAM. */
    public GuestMemory memory() { return memory; }

    /** The MMIO bus. */
    public Bus mmioBus() { return mmio; }

    /** The port-I/O bus (empty on arm64). */
    public Bus pioBus() { return pio; }

    /** The vCPU loops, index = vCPU id. */
    public List<VcpuLoop> vcpus() { return List.copyOf(loops); }

    /** Starts every vCPU: creates them all, then lets them all enter the guest. */
    public void start() throws InterruptedException {
        for (VcpuLoop loop : loops) loop.start();
        for (VcpuLoop loop : loops) loop.release();
    }

    /** Starts the machine and waits for it to end. */
    public MachineExit run() throws InterruptedException {
        start();
        return awaitExit();
    }

    /** Waits until the machine ends, and stops every vCPU. */
    public MachineExit awaitExit() throws InterruptedException {
        MachineExit result;
        try {
            result = exit.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        for (VcpuLoop loop : loops) loop.stop();
        for (VcpuLoop loop : loops) loop.join();
        if (observer != null) observer.onMachineStopped();
        return result;
    }

    /** Pauses every vCPU. */
    public void pause() { loops.forEach(VcpuLoop::pause); }

    /** Resumes every vCPU. */
    public void resume() { loops.forEach(VcpuLoop::resume); }

    /** Ends the machine as if the guest had powered off, with {@code reason}. */
    public void stop(String reason) {
        stopMachine(0, reason);
    }

    private void stopMachine(int exitCode, String reason) {
        if (exit.complete(new MachineExit(exitCode, reason))) {
            loops.forEach(VcpuLoop::stop);
        }
    }

    @Override
    public void close() {
        stopMachine(0, "closed");
        try {
            for (VcpuLoop loop : loops) loop.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (AutoCloseable r : resources.reversed()) {
            try {
                r.close();
            } catch (Exception ignored) {
                // Closing is best-effort: the process is usually about to exit.
            }
        }
        vm.close();
        memory.close();
        hypervisor.close();
    }

    /** Collects a machine's configuration; {@link #build()} creates it. */
    public static final class Builder {
        private final Platform platform;
        private long memoryBytes = 256L << 20;
        private int cpus = 1;
        private Path kernel;
        private Path initrd;
        private String cmdline = "";
        private InputStream consoleIn = InputStream.nullInputStream();
        private OutputStream consoleOut = OutputStream.nullOutputStream();
        private final List<ExitObserver> observers = new ArrayList<>();
        private final List<MachineExtension> extensions = new ArrayList<>();

        private Builder(Platform platform) {
            this.platform = platform;
        }

        public Builder memory(long bytes) { this.memoryBytes = bytes; return this; }
        public Builder cpus(int n) { this.cpus = n; return this; }
        public Builder kernel(Path kernel) { this.kernel = kernel; return this; }
        public Builder initrd(Path initrd) { this.initrd = initrd; return this; }
        public Builder cmdline(String cmdline) { this.cmdline = cmdline; return this; }
        public Builder console(InputStream in, OutputStream out) { this.consoleIn = in; this.consoleOut = out; return this; }
        /** Adds an observer of every exit. */
        public Builder observer(ExitObserver observer) { observers.add(observer); return this; }
        /** Adds devices beyond the platform's own (virtio): they are placed before the platform describes the machine. */
        public Builder extension(MachineExtension extension) { extensions.add(extension); return this; }

        /**
         * Opens the hypervisor, allocates memory, creates the VM and lets the platform build the machine.
         *
         * @throws ConfigurationException for anything the user must fix
         */
        public Machine build() {
            if (kernel == null) throw new ConfigurationException("No kernel given: pass --kernel FILE.");
            MachineConfig config = new MachineConfig(memoryBytes, cpus, kernel, Optional.ofNullable(initrd), cmdline,
                    consoleIn, consoleOut);
            Hypervisor hv = platform.openHypervisor();
            GuestMemory mem = null;
            Vm vm = null;
            List<AutoCloseable> resources = new ArrayList<>();
            try {
                mem = platform.allocateMemory(config);
                vm = hv.createVm(mem);
                Bus mmio = new Bus("mmio");
                Bus pio = new Bus("pio");
                List<DeviceDescription> described = new ArrayList<>();
                for (MachineExtension ext : extensions) {
                    described.addAll(ext.attach(vm, mmio, resources::add));
                }
                Assembly assembly = platform.assemble(vm, config, mmio, pio, described);
                if (assembly instanceof AutoCloseable c) resources.add(c);
                ExitObserver observer = switch (observers.size()) {
                    case 0 -> null;
                    case 1 -> observers.getFirst();
                    default -> new CompositeObserver(List.copyOf(observers));
                };
                return new Machine(hv, vm, mem, mmio, pio, assembly, cpus, observer, resources);
            } catch (RuntimeException e) {
                for (AutoCloseable r : resources.reversed()) {
                    try { r.close(); } catch (Exception ignored) { /* already failing */ }
                }
                if (vm != null) vm.close();
                if (mem != null) mem.close();
                hv.close();
                throw e;
            }
        }
    }

    private record CompositeObserver(List<ExitObserver> all) implements ExitObserver {
        @Override
        public void onExit(int vcpu, org.jvmm.core.hypervisor.VcpuExit exit, String device, long value, long nanos) {
            for (ExitObserver o : all) o.onExit(vcpu, exit, device, value, nanos);
        }

        @Override
        public void onMachineStopped() {
            all.forEach(ExitObserver::onMachineStopped);
        }
    }
}
