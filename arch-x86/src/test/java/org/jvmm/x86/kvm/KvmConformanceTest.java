package org.jvmm.x86.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.jvmm.core.bus.BusDevice;
import org.jvmm.core.hypervisor.IoEventAddress;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.observe.ExitObserver;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.run.VcpuLoop;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.x86.cpu.X86Registers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The KVM x86 backend running the conformance guests in {@code src/test/guests} through the real
 * {@link Machine} and {@link VcpuLoop}. Every test is bounded by a 30 s hang guard; none measures time.
 * Expected values are written out from the guests' source, never taken from the code under test.
 */
@Timeout(30)
class KvmConformanceTest {

    private static final long MIB = 1 << 20;
    private static final long DEV = 0xd000_0000L; // the test device window of the long-mode guests

    @BeforeAll
    static void needKvm() {
        Guests.requireKvm();
    }

    private record Run(MachineExit exit, ConformancePlatform platform, List<VcpuExit> exits) {}

    private static Run run(String guest, ConformancePlatform.Mode mode, boolean irqchip, int cpus,
                           Consumer<ConformancePlatform.Wiring> wiring, AtomicReference<Machine> machineRef)
            throws InterruptedException {
        ConformancePlatform platform = new ConformancePlatform(mode, irqchip, wiring);
        List<VcpuExit> exits = new CopyOnWriteArrayList<>();
        ExitObserver observer = (vcpu, exit, device, value, nanos) -> exits.add(exit);
        try (Machine m = Machine.builder(platform).kernel(Guests.binary(guest)).memory(4 * MIB).cpus(cpus)
                .observer(observer).build()) {
            if (machineRef != null) machineRef.set(m);
            MachineExit exit = m.run();
            return new Run(exit, platform, exits);
        }
    }

    @Test
    void realModePortIoOfEverySizeBothWays() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        int[] word = {0};
        Run r = run("pio16", ConformancePlatform.Mode.REAL, false, 1, w -> {
            w.pio().register(0x10, 0x40, new Recorder("probe", 0x10, log, (offset, size) -> switch ((int) offset + 0x10) {
                case 0x20 -> 0xa5;
                case 0x22 -> 0xbeef;
                case 0x24 -> 0xdeadbeefL;
                case 0x42 -> 0x1111L * ++word[0];
                default -> 0;
            }));
            w.pio().register(0x1234, 1, new Recorder("high", 0x1234, log, (o, s) -> 0));
        }, null);

        assertEquals(0, r.exit().exitCode(), r.exit().reason());
        assertEquals(List.of(
                "W 0x10/1 = 0x12", "W 0x12/2 = 0x3456", "W 0x14/4 = 0x789abcde", "W 0x1234/1 = 0x5a",
                "W 0x40/1 = 0x4a", "W 0x40/1 = 0x56", "W 0x40/1 = 0x4d", "W 0x40/1 = 0x4d",
                "R 0x42/2 = 0x1111", "R 0x42/2 = 0x2222", "R 0x42/2 = 0x3333",
                "W 0x44/2 = 0x1111", "W 0x44/2 = 0x2222", "W 0x44/2 = 0x3333",
                "R 0x20/1 = 0xa5", "W 0x30/1 = 0xa5", "R 0x22/2 = 0xbeef", "W 0x32/2 = 0xbeef",
                "R 0x24/4 = 0xdeadbeef", "W 0x34/4 = 0xdeadbeef"), log);
        X86Registers regs = r.platform().haltRegisters.getFirst();
        assertEquals(0x600dc0deL, regs.rax() & 0xffffffffL);
        assertEquals(0xa5, regs.rbx() & 0xff);
        assertEquals(0xbeef, regs.rbp() & 0xffff);
        assertEquals(0xdeadbeefL, regs.rdi() & 0xffffffffL);
        assertEquals(List.of(new VcpuExit.Halt()), r.platform().platformExits);
    }

    /** A 4-byte device that stores what is written, byte-addressed, and logs every access. */
    private static BusDevice latch(String name, long base, List<String> log) {
        byte[] cells = new byte[4];
        return new BusDevice() {
            @Override public String name() { return name; }
            @Override public long read(long offset, int size) {
                long v = 0;
                for (int i = size - 1; i >= 0; i--) v = (v << 8) | (cells[(int) offset + i] & 0xff);
                log.add("R 0x%x/%d = 0x%x".formatted(base + offset, size, v));
                return v;
            }
            @Override public void write(long offset, int size, long value) {
                for (int i = 0; i < size; i++) cells[(int) offset + i] = (byte) (value >>> (8 * i));
                log.add("W 0x%x/%d = 0x%x".formatted(base + offset, size, value));
            }
        };
    }

    @Test
    void longModeMmioOfEverySizeAndAStraddlingAccess() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Run r = run("mmio64", ConformancePlatform.Mode.LONG, false, 1, w -> {
            w.mmio().register(DEV, 0x100, new Recorder("probe", DEV, log, (offset, size) -> switch ((int) offset) {
                case 0x40 -> 0x5a;
                case 0x50 -> 0xcafe;
                case 0x60 -> 0x8badf00dL;
                case 0x70 -> 0xfedcba9876543210L;
                default -> 0;
            }));
            w.mmio().register(DEV + 0x100, 4, latch("a", DEV + 0x100, log));
            w.mmio().register(DEV + 0x104, 4, latch("b", DEV + 0x104, log));
        }, null);

        assertEquals(0, r.exit().exitCode(), r.exit().reason());
        assertEquals(List.of(
                "W 0xd0000000/1 = 0x12", "W 0xd0000010/2 = 0x3456", "W 0xd0000020/4 = 0x789abcde",
                "W 0xd0000030/8 = 0x123456789abcdef",
                "R 0xd0000040/1 = 0x5a", "R 0xd0000050/2 = 0xcafe", "R 0xd0000060/4 = 0x8badf00d",
                "R 0xd0000070/8 = 0xfedcba9876543210",
                // the straddling 4-byte write and read are split by the bus into single bytes per device
                "W 0xd0000102/1 = 0xd4", "W 0xd0000103/1 = 0xc3", "W 0xd0000104/1 = 0xb2", "W 0xd0000105/1 = 0xa1",
                "R 0xd0000102/1 = 0xd4", "R 0xd0000103/1 = 0xc3", "R 0xd0000104/1 = 0xb2", "R 0xd0000105/1 = 0xa1"),
                log);
        X86Registers regs = r.platform().haltRegisters.getFirst();
        assertEquals(0x5a, regs.r8());
        assertEquals(0xcafe, regs.r9());
        assertEquals(0x8badf00dL, regs.r10());
        assertEquals(0xfedcba9876543210L, regs.r11());
        assertEquals(0xa1b2c3d4L, regs.r12());
        assertEquals(0x600dc0deL, regs.rax());
        assertTrue(regs.rip() > Guests.LONG_MODE_ENTRY && regs.rip() < Guests.LONG_MODE_ENTRY + 0x100, Long.toHexString(regs.rip()));
        assertTrue(r.exits().contains(new VcpuExit.MmioRead(DEV + 0x70, 8)));
        assertTrue(r.exits().contains(new VcpuExit.MmioWrite(DEV + 0x30, 8, 0x0123456789abcdefL)));
    }

    @Test
    void ioeventfdWritesSignalWithoutReachingTheVmm() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        try (EventFd notify = new EventFd(); EventFd port = new EventFd()) {
            Run r = run("ioevent64", ConformancePlatform.Mode.LONG, false, 1, w -> {
                w.mmio().register(DEV, 0x100, new Recorder("probe", DEV, log, (o, s) -> 0));
                w.pio().register(0x88, 1, new Recorder("port", 0x88, log, (o, s) -> 0));
                w.vm().registerIoEvent(notify, IoEventAddress.mmio(DEV + 0x50, 4, 3));
                w.vm().registerIoEvent(port, new IoEventAddress(IoEventAddress.Space.PIO, 0x88, 1, OptionalLong.empty()));
            }, null);

            assertEquals(0, r.exit().exitCode(), r.exit().reason());
            assertEquals(List.of("W 0xd0000050/4 = 0x4"), log, "only the non-matching write reaches a device");
            assertEquals(10, notify.await(0));
            assertEquals(5, port.await(0));
            assertEquals(List.of(new VcpuExit.MmioWrite(DEV + 0x50, 4, 4), new VcpuExit.Halt()), r.exits());
        }
    }

    @Test
    void interruptsByIrqfdAndIrqLineReachARealModeHandler() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        AtomicReference<Machine> machine = new AtomicReference<>();
        List<Thread> raisers = new CopyOnWriteArrayList<>();
        try (EventFd irq = new EventFd()) {
            Run r = run("irq16", ConformancePlatform.Mode.REAL, true, 1, w -> {
                w.vm().registerIrqNotifier(irq, 5);
                w.pio().register(0x50, 3, new BusDevice() {
                    @Override public String name() { return "irq-test"; }
                    @Override public long read(long offset, int size) { return 0; }
                    @Override public void write(long offset, int size, long value) {
                        switch ((int) offset) {
                            case 0 -> {
                                log.add("request " + value);
                                // Raised from another thread, as a device thread would.
                                raisers.add(Thread.ofPlatform().start(() -> {
                                    if (value == 0) irq.signal();
                                    else w.vm().irqLine(5).pulse();
                                }));
                            }
                            case 1 -> log.add("interrupt");
                            default -> {
                                log.add("done " + value);
                                // The pulse's lowering edge may still be on its way: let it finish before the VM closes.
                                for (Thread t : raisers) {
                                    try {
                                        t.join();
                                    } catch (InterruptedException e) {
                                        Thread.currentThread().interrupt();
                                    }
                                }
                                machine.get().stop("done");
                            }
                        }
                    }
                });
            }, machine);

            assertEquals("done", r.exit().reason());
            assertEquals(List.of("request 0", "interrupt", "request 1", "interrupt", "done 2"), log);
        }
    }

    @Test
    void twoVcpusRunAtTheSameTime() throws Exception {
        Set<String> reports = java.util.concurrent.ConcurrentHashMap.newKeySet();
        Run r = run("smp16", ConformancePlatform.Mode.REAL, false, 2, w ->
                w.pio().register(0x60, 1, new Recorder("smp", 0x60, new ArrayList<>(), (o, s) -> 0) {
                    @Override public void write(long offset, int size, long value) {
                        reports.add("cpu " + value + " on " + Thread.currentThread().getName());
                    }
                }), null);

        assertEquals(0, r.exit().exitCode(), r.exit().reason());
        assertEquals(Set.of("cpu 0 on vcpu-0", "cpu 1 on vcpu-1"), reports);
        assertEquals(2, r.platform().haltRegisters.size());
    }

    @Test
    void theBootCpuStartsASecondVcpuWithInitAndSipi() throws Exception {
        Set<String> reports = java.util.concurrent.ConcurrentHashMap.newKeySet();
        AtomicReference<Machine> machine = new AtomicReference<>();
        Run r = run("sipi64", ConformancePlatform.Mode.LONG, true, 2, w ->
                w.pio().register(0xe1, 2, new Recorder("sipi", 0xe1, new ArrayList<>(), (o, s) -> 0) {
                    @Override public void write(long offset, int size, long value) {
                        reports.add("0x%x from %s".formatted(value, Thread.currentThread().getName()));
                        if (reports.size() == 2) machine.get().stop("both up");
                    }
                }), machine);

        assertEquals("both up", r.exit().reason());
        assertEquals(Set.of("0xe2 from vcpu-0", "0xe1 from vcpu-1"), reports);
    }

    @Test
    void aTripleFaultIsAShutdown() throws Exception {
        Run r = run("triple64", ConformancePlatform.Mode.LONG, false, 1, w -> {}, null);
        assertEquals(1, r.exit().exitCode());
        assertInstanceOf(VcpuExit.Shutdown.class, r.platform().platformExits.getFirst(), r.exit().reason());
    }

    @Test
    void pauseResumeAndStopASpinningGuest() throws Exception {
        CountDownLatch spinning = new CountDownLatch(1);
        ConformancePlatform platform = new ConformancePlatform(ConformancePlatform.Mode.REAL, false,
                w -> w.pio().register(0x70, 1, new Recorder("spin", 0x70, (o, s) -> 0) {
                    @Override public void write(long offset, int size, long value) { spinning.countDown(); }
                }));
        try (Machine m = Machine.builder(platform).kernel(Guests.binary("spin16")).memory(4 * MIB).build()) {
            m.start();
            assertTrue(spinning.await(30, TimeUnit.SECONDS));
            VcpuLoop loop = m.vcpus().getFirst();
            m.pause(); // kicks the vCPU out of the guest's endless loop
            assertTrue(loop.awaitState(VcpuLoop.State.PAUSED, 30_000));
            m.resume();
            assertTrue(loop.awaitState(VcpuLoop.State.RUNNING, 30_000));
            m.stop("test over");
            assertEquals(new MachineExit(0, "test over"), m.awaitExit());
            assertEquals(VcpuLoop.State.STOPPED, loop.state());
        }
    }
}
