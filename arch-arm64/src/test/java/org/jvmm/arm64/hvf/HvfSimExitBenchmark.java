package org.jvmm.arm64.hvf;

import java.nio.file.Path;
import java.util.List;
import org.jvmm.arm64.Arm64Platform;
import org.jvmm.core.bus.BusDevice;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * Exit cost through the HVF arm64 backend on hvfsim (a simulated framework on Unicorn, so the numbers measure
 * jvmm's path plus the simulator, not Apple hardware): per 4-byte MMIO write exit (simulator → FFM → backend →
 * {@code VcpuLoop} → bus → device) and per trapped MRS (simulator → FFM → backend → {@code VcpuLoop} → the
 * platform's read-as-zero), each minus
 * the guest's empty loop. Wall and vCPU-thread CPU time. Run by {@code bench/hvfsim-exit-cost [N [ROUNDS]]}.
 */
public final class HvfSimExitBenchmark {

    private HvfSimExitBenchmark() {}

    /** Timestamps the guest's phase markers on the vCPU thread. */
    static final class Markers implements BusDevice {
        final long count;
        final long[] wall = new long[5], cpu = new long[5];

        Markers(long count) { this.count = count; }

        @Override public String name() { return "bench"; }

        @Override public long read(long offset, int size) { return offset == 0xf08 ? count : 0; }

        @Override public void write(long offset, int size, long value) {
            if (offset == 0xf00 && value >= 1 && value <= 4) {
                wall[(int) value] = System.nanoTime();
                cpu[(int) value] = LinuxLibc.clockGettime(LinuxLibc.CLOCK_THREAD_CPUTIME_ID);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        long n = args.length > 0 ? Long.parseLong(args[0]) : 100_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        HvfSim.install();
        Path image = HvfSim.guest("bench");
        run(image, Math.max(1, n / 10)); // warm-up: JIT and the simulator's translation cache
        System.out.printf("N = %d; ns per exit (wall / vCPU-thread CPU), minus the empty loop%n", n);
        for (int r = 1; r <= rounds; r++) {
            Markers m = run(image, n);
            double emptyWall = (m.wall[2] - m.wall[1]) / (double) n, emptyCpu = (m.cpu[2] - m.cpu[1]) / (double) n;
            double mmioWall = (m.wall[3] - m.wall[2]) / (double) n - emptyWall, mmioCpu = (m.cpu[3] - m.cpu[2]) / (double) n - emptyCpu;
            double trapWall = (m.wall[4] - m.wall[3]) / (double) n - emptyWall, trapCpu = (m.cpu[4] - m.cpu[3]) / (double) n - emptyCpu;
            System.out.printf("round %d: MMIO write exit %.0f / %.0f ns (%.0f exits/s wall); trapped MRS %.0f / %.0f ns;"
                    + " empty loop %.0f / %.0f ns per iteration%n", r, mmioWall, mmioCpu, 1e9 / (mmioWall + emptyWall),
                    trapWall, trapCpu, emptyWall, emptyCpu);
        }
        HvfSim.uninstall();
    }

    private static Markers run(Path image, long n) throws Exception {
        Markers markers = new Markers(n);
        try (Machine m = Machine.builder(new Arm64Platform()).kernel(image).memory(64L << 20)
                .extension((vm, mmio, closeLater) -> {
                    mmio.register(Probe.BASE, Probe.SIZE, markers);
                    return List.of();
                }).build()) {
            MachineExit exit = m.run();
            if (exit.exitCode() != 0 || markers.wall[4] == 0) throw new IllegalStateException("benchmark guest failed: " + exit);
        }
        return markers;
    }
}
