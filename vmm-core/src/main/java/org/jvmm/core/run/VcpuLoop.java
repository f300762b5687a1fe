package org.jvmm.core.run;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.observe.ExitObserver;
import org.jvmm.core.platform.Assembly;
import org.jvmm.core.platform.ExitAction;

/**
 * The exit loop of one vCPU: run the guest until it exits, answer the exit, run again.
 *
 * <p>This file is the whole path of an exit inside the VMM. {@link Vcpu#run()} returns a
 * {@link VcpuExit}; port I/O goes to the port bus, MMIO to the MMIO bus, reads are completed with
 * {@link Vcpu#completeRead(long)}; everything else (halt, hypercalls, system register accesses, system
 * events, failures) is asked of the platform's {@link Assembly}, which says whether to go on, stop this vCPU or stop the machine.
 * After a bus access the loop also asks the assembly whether a device requested a machine stop
 * (a reset or power-off register written by the guest).
 *
 * <p>Each loop owns one platform thread for the vCPU's whole life, because Hypervisor.framework binds a
 * vCPU to the thread that created it; the vCPU is created on that thread.
 *
 * <p>State machine: {@code RUNNING ⇄ PAUSED → STOPPED}. {@link #pause()}, {@link #resume()} and
 * {@link #stop()} may be called from any thread; pause and stop {@linkplain Vcpu#kick() kick} the vCPU
 * out of the guest, so they take effect within one exit.
 */
public final class VcpuLoop {

    /** Where a vCPU loop is in its life. */
    public enum State { RUNNING, PAUSED, STOPPED }

    /** How the loop reports the machine-wide outcome of its vCPU. */
    interface MachineSink {
        void stopMachine(int exitCode, String reason);
    }

    private final int id;
    private final Vm vm;
    private final Bus mmio;
    private final Bus pio;
    private final Assembly assembly;
    private final ExitObserver observer; // null when nobody observes: no per-exit cost
    private final MachineSink machine;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition stateChanged = lock.newCondition();
    private volatile State requested = State.RUNNING;
    private volatile State current = State.RUNNING;
    private volatile Vcpu vcpu;
    private final CountDownLatch created = new CountDownLatch(1);
    private final CountDownLatch go = new CountDownLatch(1);
    private Thread thread;

    VcpuLoop(int id, Vm vm, Bus mmio, Bus pio, Assembly assembly, ExitObserver observer, MachineSink machine) {
        this.id = id;
        this.vm = vm;
        this.mmio = mmio;
        this.pio = pio;
        this.assembly = assembly;
        this.observer = observer;
        this.machine = machine;
    }

    /** Starts the vCPU's thread and returns once the vCPU exists and has its initial state. */
    void start() throws InterruptedException {
        thread = Thread.ofPlatform().name("vcpu-" + id).start(this::threadMain);
        created.await();
    }

    /**
     * Lets the vCPU enter the guest. The machine calls it once every vCPU exists: guest code must not
     * run before all vCPUs can receive what it sends them (an INIT/SIPI to a vCPU not yet created is lost).
     */
    void release() {
        go.countDown();
    }

    /** The state the loop is in now. */
    public State state() {
        return current;
    }

    /** Asks the vCPU to stop running guest code until {@link #resume()}. */
    public void pause() {
        request(State.PAUSED);
    }

    /** Lets a paused vCPU run again. */
    public void resume() {
        request(State.RUNNING);
    }

    /** Ends the loop; the vCPU is closed on its own thread. */
    public void stop() {
        request(State.STOPPED);
    }

    /** Waits for the loop's thread to end. */
    void join() throws InterruptedException {
        if (thread != null) thread.join();
    }

    /** Waits until the loop has reached {@code state} (or stopped); for tests and control code. */
    public boolean awaitState(State state, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        lock.lock();
        try {
            while (current != state && current != State.STOPPED) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                stateChanged.awaitNanos(left);
            }
            return current == state;
        } finally {
            lock.unlock();
        }
    }

    private void request(State state) {
        lock.lock();
        try {
            if (requested == State.STOPPED) return;
            requested = state;
            stateChanged.signalAll();
        } finally {
            lock.unlock();
        }
        if (state == State.STOPPED) go.countDown(); // a loop stopped before release must still end
        Vcpu v = vcpu;
        if (v != null && state != State.RUNNING) v.kick();
    }

    private void threadMain() {
        try (Vcpu v = vm.createVcpu(id)) {
            assembly.initVcpu(v);
            vcpu = v;
            created.countDown();
            go.await();
            loop(v);
        } catch (Throwable t) {
            machine.stopMachine(1, "vCPU " + id + " failed: " + t);
        } finally {
            created.countDown();
            setCurrent(State.STOPPED);
        }
    }

    private void loop(Vcpu v) throws InterruptedException {
        while (awaitRunnable()) {
            VcpuExit exit = v.run();
            long started = observer == null ? 0 : System.nanoTime();
            long value = 0;
            String device;
            switch (exit) {
                case VcpuExit.IoIn(int port, int size) -> {
                    value = pio.read(port, size);
                    v.completeRead(value);
                    device = observer == null ? null : pio.describe(port, size);
                }
                case VcpuExit.IoOut(int port, int size, long data) -> {
                    pio.write(port, size, data);
                    value = data;
                    device = observer == null ? null : pio.describe(port, size);
                }
                case VcpuExit.MmioRead(long address, int size) -> {
                    value = mmio.read(address, size);
                    v.completeRead(value);
                    device = observer == null ? null : mmio.describe(address, size);
                }
                case VcpuExit.MmioWrite(long address, int size, long data) -> {
                    mmio.write(address, size, data);
                    value = data;
                    device = observer == null ? null : mmio.describe(address, size);
                }
                case VcpuExit.Canceled() -> device = "kick"; // the control state is read at the top of the loop
                default -> {
                    device = "platform";
                    ExitAction action = assembly.handle(v, exit);
                    if (observer != null) observer.onExit(id, exit, device, 0, System.nanoTime() - started);
                    switch (action) {
                        case ExitAction.Continue() -> {}
                        case ExitAction.StopVcpu() -> { return; }
                        case ExitAction.StopMachine(int code, String reason) -> {
                            machine.stopMachine(code, reason);
                            return;
                        }
                    }
                    continue;
                }
            }
            if (observer != null) observer.onExit(id, exit, device, value, System.nanoTime() - started);
            ExitAction.StopMachine stop = assembly.requestedStop();
            if (stop != null) {
                machine.stopMachine(stop.exitCode(), stop.reason());
                return;
            }
        }
    }

    /** Blocks while paused; returns false once the loop must end. */
    private boolean awaitRunnable() throws InterruptedException {
        State want = requested;
        if (want == State.RUNNING && current == State.RUNNING) return true;
        lock.lock();
        try {
            while (requested == State.PAUSED) {
                setCurrentLocked(State.PAUSED);
                stateChanged.await();
            }
            if (requested == State.STOPPED) return false;
            setCurrentLocked(State.RUNNING);
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void setCurrent(State s) {
        lock.lock();
        try {
            setCurrentLocked(s);
        } finally {
            lock.unlock();
        }
    }

    private void setCurrentLocked(State s) {
        current = s;
        stateChanged.signalAll();
    }
}
