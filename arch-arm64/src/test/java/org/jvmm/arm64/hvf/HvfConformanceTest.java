package org.jvmm.arm64.hvf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.jvmm.arm64.Arm64Platform;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.observe.ExitObserver;
import org.jvmm.core.observe.ExitReason;
import org.jvmm.core.observe.StatsObserver;
import org.jvmm.core.observe.TraceObserver;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * arm64 conformance guests (src/test/guests) through the whole stack — {@link Machine}, {@link Arm64Platform},
 * the HVF backend's real FFM code — on hvfsim, the simulated Hypervisor.framework (Unicorn, not a Mac).
 * Expected values come from the Arm architecture (load/store widths and extension, PSCI), never from jvmm.
 * Hang guards: 30 s per guest, and 90 s per test on a separate thread, so even a vCPU that never wakes up
 * (which would block closing the machine) fails the test instead of hanging the build.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HvfConformanceTest {

    @BeforeAll
    static void simulator() throws Exception {
        HvfSim.install();
    }

    @AfterAll
    static void restore() {
        HvfSim.uninstall();
    }

    /** Counts platform exits by kind, for the PC-rule checks. */
    static final class Exits implements ExitObserver {
        final AtomicInteger halts = new AtomicInteger();
        final AtomicInteger smcs = new AtomicInteger();
        final AtomicInteger hvcs = new AtomicInteger();
        final List<String> all = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onExit(int vcpu, VcpuExit exit, String device, long value, long nanos) {
            switch (exit) {
                case VcpuExit.Halt h -> halts.incrementAndGet();
                case VcpuExit.Hypercall h when h.conduit() == VcpuExit.Hypercall.Conduit.SMC -> smcs.incrementAndGet();
                case VcpuExit.Hypercall h -> hvcs.incrementAndGet();
                default -> {}
            }
        }
    }

    private static Machine machine(String guest, int cpus, Probe probe, Exits exits, ExitObserver... more) throws Exception {
        Path image = HvfSim.guest(guest);
        Machine.Builder builder = Machine.builder(new Arm64Platform()).kernel(image).memory(64L << 20).cpus(cpus).observer(exits)
                .extension((vm, mmio, closeLater) -> {
                    mmio.register(Probe.BASE, Probe.SIZE, probe);
                    return List.of();
                });
        for (ExitObserver o : more) builder.observer(o);
        return builder.build();
    }

    /** Waits for the machine's end with a 30 s hang guard. */
    private static MachineExit await(Machine m) throws Exception {
        CompletableFuture<MachineExit> done = CompletableFuture.supplyAsync(() -> {
            try {
                return m.awaitExit();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            return done.get(30, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            m.stop("hang guard");
            fail("the guest did not finish within 30 s");
            return null;
        }
    }

    @Test
    void mmioOfEverySizeFromLowHighAndZeroRegistersWithZeroAndSignExtension() throws Exception {
        Probe probe = new Probe();
        Exits exits = new Exits();
        MachineExit result;
        try (Machine m = machine("mmio", 1, probe, exits)) {
            m.start();
            result = await(m);
        }
        assertEquals(0, result.exitCode(), result.reason());
        assertTrue(result.reason().contains("SYSTEM_OFF"), result.reason());

        List<Probe.Access> expected = List.of(
                new Probe.Access(true, 0x10, 1, 0x88),                    // STRB w0
                new Probe.Access(true, 0x20, 2, 0x0718),                  // STRH w30
                new Probe.Access(true, 0x30, 4, 0xe5f60718L),             // STR w30
                new Probe.Access(true, 0x40, 8, 0xa1b2c3d4e5f60718L),     // STR x30
                new Probe.Access(true, 0x48, 8, 0),                       // STR xzr
                new Probe.Access(true, 0x51, 8, 0x1122334455667788L),     // STUR x0, unaligned
                new Probe.Access(true, 0x60, 8, 0x1122334455667788L),     // STR x0, [x9, x5]
                new Probe.Access(true, 0x200, 8, 0x88L),                  // LDRB w0: zero-extended into x0
                new Probe.Access(true, 0x208, 8, 0x9788L),                // LDRH w17
                new Probe.Access(true, 0x210, 8, 0xb5a69788L),            // LDR w28: upper half cleared
                new Probe.Access(true, 0x218, 8, Probe.PATTERN),          // LDR x30
                new Probe.Access(true, 0x220, 8, 0xffff_ffff_ffff_ff88L), // LDRSB x1
                new Probe.Access(true, 0x228, 8, 0x0000_0000_ffff_9788L), // LDRSH w2: sign-extended to 32 bits only
                new Probe.Access(true, 0x230, 8, 0xffff_ffff_b5a6_9788L), // LDRSW x3
                new Probe.Access(true, 0x238, 8, 0xffff_ffff_ffff_9788L), // LDURSH x4
                new Probe.Access(true, 0x240, 8, Probe.PATTERN));         // LDR x6, [x9, x5]
        assertEquals(expected, probe.writes());
        List<Integer> readSizes = probe.accesses().stream().filter(a -> !a.write()).map(Probe.Access::size).toList();
        assertEquals(List.of(1, 2, 4, 8, 1, 2, 4, 2, 8, 8), readSizes);
    }

    /**
     * The sysreg_wfi guest makes exactly two accesses that Hypervisor.framework (and hvfsim) trap: MRS of
     * PMCR_EL0 (a PMU register) into X20 and MSR of 1 into OSLAR_EL1 (the OS lock); the timer registers it
     * also uses are the hypervisor's own. Both traps must show in the exit trace and the statistics, as
     * {@code --trace-exits} and {@code --stats} print them.
     */
    @Test
    void sysregTrapsShowInTheTraceAndTheStatistics() throws Throwable {
        ByteArrayOutputStream traced = new ByteArrayOutputStream();
        TraceObserver trace = new TraceObserver(new PrintStream(traced, true, StandardCharsets.UTF_8));
        StatsObserver stats = new StatsObserver(new PrintStream(OutputStream.nullOutputStream()));
        Probe probe = new Probe();
        MachineExit result = runSysregWfi(probe, new Exits(), trace, stats);
        assertEquals(0, result.exitCode(), result.reason());
        List<String> sysregLines = traced.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains(" sysreg-")).toList();
        assertEquals(List.of("vcpu0 sysreg-read reg=PMCR_EL0 -> platform",
                "vcpu0 sysreg-write reg=OSLAR_EL1 value=0x1 -> platform"), sysregLines);
        Map<ExitReason, Long> counts = stats.rows().stream().collect(Collectors.toMap(StatsObserver.Row::reason, StatsObserver.Row::count));
        assertEquals(1L, counts.get(ExitReason.SYSREG_READ), "stats: " + stats.table());
        assertEquals(1L, counts.get(ExitReason.SYSREG_WRITE), "stats: " + stats.table());
        assertEquals(0L, probe.written(0x300), "the platform answered MRS PMCR_EL0 with zero");
    }

    /** Runs sysreg_wfi to its end, raising the interrupt line it waits for in its second WFI. */
    private static MachineExit runSysregWfi(Probe probe, Exits exits, ExitObserver... more) throws Exception {
        try (Machine m = machine("sysreg_wfi", 1, probe, exits, more)) {
            m.start();
            assertTrue(probe.awaitWrite(0x330), "the guest never got past its timer WFI");
            probe.flag.set(0x55);
            m.vm().irqLine(5).set(true);
            return await(m);
        }
    }

    @Test
    void sysregTrapReadsZeroAndWfiIsWokenByTheTimerAndByAnInterrupt() throws Throwable {
        Probe probe = new Probe();
        Exits exits = new Exits();
        MachineExit result;
        try (Machine m = machine("sysreg_wfi", 1, probe, exits)) {
            m.start();
            // The guest announces its second wait; whether it is parked yet or not, the raised line must end it
            // (a wake-up before the WFI is remembered) — without one it would wait forever.
            assertTrue(probe.awaitWrite(0x330), "the guest never got past its timer WFI");
            // hvf-arm64.md §4.4: the VTIMER_ACTIVATED exit made INTID 27 pending in the vCPU's redistributor, and
            // once the guest cleared the timer condition (CNTV_CTL = 0) the backend unmasked the vtimer again.
            assertEquals(1L << 27, HvfSim.call("hvsim_ppi_pending", 0L) & (1L << 27), "virtual timer PPI pending");
            assertEquals(0L, HvfSim.call("hvsim_vtimer_masked", 0L), "vtimer unmasked after the guest cleared it");
            probe.flag.set(0x55);
            m.vm().irqLine(5).set(true);
            result = await(m);
        }
        assertEquals(0, result.exitCode(), result.reason());
        assertEquals(0L, probe.written(0x300), "MRS PMCR_EL0 is trapped and reads as zero");
        assertEquals(1L, probe.written(0x308), "MSR OSLAR_EL1 is ignored and leaves X21 alone");
        long frequency = probe.written(0x310), deadlineTicks = probe.written(0x318), woke = probe.written(0x320);
        assertTrue(frequency > 0, "CNTFRQ_EL0 " + frequency);
        assertTrue(Long.compareUnsigned(woke, deadlineTicks) >= 0, "the timer WFI loop ends only at its deadline");
        assertTrue(exits.halts.get() >= 2, "both waits went through WFI: " + exits.halts.get());
        assertEquals(0x55L, probe.written(0x328));
    }

    @Test
    void stoppingTheMachineWakesAVcpuParkedInWfiWithoutTimer() throws Exception {
        Probe probe = new Probe();
        Exits exits = new Exits();
        MachineExit result;
        try (Machine m = machine("park", 2, probe, exits)) {
            m.start();
            assertTrue(probe.awaitWrite(0x330), "the guest never reached its WFI");
            // vCPU 0 parks in WFI with no timer armed, vCPU 1 waits powered off: only kicks can end them.
            m.stop("stopped by the test");
            result = await(m);
        }
        assertEquals(0, result.exitCode());
        assertEquals("stopped by the test", result.reason());
    }

    @Test
    void psciByHvcAndSmcAndCpuOnStartsASecondVcpu() throws Exception {
        Probe probe = new Probe();
        Exits exits = new Exits();
        MachineExit result;
        try (Machine m = machine("smp", 2, probe, exits)) {
            m.start();
            result = await(m);
        }
        assertEquals(0, result.exitCode(), result.reason() + " " + probe.accesses());
        assertEquals(0x10000L, probe.written(0x500), "PSCI_VERSION by HVC: 1.0");
        assertEquals(0x10000L, probe.written(0x508), "PSCI_VERSION by SMC: 1.0");
        assertEquals(1, exits.smcs.get(), "the SMC ran once: PC moved past it");
        assertEquals(0L, probe.written(0x510), "CPU_ON returns SUCCESS");
        assertEquals(0x5a5aL, probe.written(0x600), "the secondary starts with X0 = context ID");
        Long mpidr = probe.written(0x608);
        assertNotNull(mpidr, "the secondary ran");
        assertEquals(1L, mpidr & 0xff_00ff_ffffL, "the secondary's MPIDR_EL1 affinity");
        assertEquals(0x77L, probe.written(0x518), "vCPU 0 saw the secondary's write to RAM");
        assertTrue(exits.hvcs.get() >= 4, "VERSION, CPU_ON, CPU_OFF, SYSTEM_OFF by HVC: " + exits.hvcs.get());
    }

    @Test
    void anMmioAccessWithoutSyndromeStopsTheMachineWithAClearError() throws Exception {
        Probe probe = new Probe();
        MachineExit result;
        try (Machine m = machine("isv0", 1, probe, new Exits())) {
            m.start();
            result = await(m);
        }
        assertEquals(1, result.exitCode());
        assertTrue(result.reason().contains("ISV=0"), result.reason());
        assertTrue(result.reason().contains("0xb000000"), result.reason());
        assertEquals(List.of(), probe.accesses(), "nothing reached the device");
    }
}
