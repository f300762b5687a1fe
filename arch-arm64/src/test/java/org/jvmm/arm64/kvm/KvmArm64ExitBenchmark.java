package org.jvmm.arm64.kvm;

import java.nio.file.Path;
import java.util.List;
import org.jvmm.arm64.Arm64Platform;
import org.jvmm.core.bus.BusDevice;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * Exit cost through the KVM arm64 backend: per 4-byte MMIO write exit (KVM_RUN → {@link Arm64ExitDecoder} →
 * {@code VcpuLoop} → bus → device → KVM_RUN), minus the guest's empty loop, in wall and vCPU-thread CPU time. Needs
 * an arm64 Linux host with KVM — here, the arm64 nested rig's L1 ({@code run-rig --payload bench}, which
 * {@code bench/kvm-arm64-exit-cost} drives). Arguments: the {@code kvm_bench} guest image, N, rounds.
 */
public final class KvmArm64ExitBenchmark {

    private KvmArm64ExitBenchmark() {}

    /** The probe address of the guests' image.inc, outside every window of Arm64Layout. */
    static final long PROBE = 0x0b00_0000L;

    /** Timestamps the guest's phase markers on the vCPU thread; answers N at 0xf08. */
    static final class Markers implements BusDevice {
        final long count;
        final long[] wall = new long[4], cpu = new long[4];

        Markers(long count) { this.count = count; }

        @Override public String name() { return "bench"; }

        @Override public long read(long offset, int size) { return offset == 0xf08 ? count : 0; }

        @Override public void write(long offset, int size, long value) {
            if (offset == 0xf00 && value >= 1 && value <= 3) {
                wall[(int) value] = System.nanoTime();
                cpu[(int) value] = LinuxLibc.clockGettime(LinuxLibc.CLOCK_THREAD_CPUTIME_ID);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Path image = Path.of(args[0]);
        long n = args.length > 1 ? Long.parseLong(args[1]) : 100_000;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        run(image, Math.max(1, n / 10)); // warm-up: JIT
        System.out.printf("KVM arm64, N = %d; ns per MMIO write exit (wall / vCPU-thread CPU), minus the empty loop%n", n);
        for (int r = 1; r <= rounds; r++) {
            Markers m = run(image, n);
            double emptyWall = (m.wall[2] - m.wall[1]) / (double) n, emptyCpu = (m.cpu[2] - m.cpu[1]) / (double) n;
            double mmioWall = (m.wall[3] - m.wall[2]) / (double) n - emptyWall, mmioCpu = (m.cpu[3] - m.cpu[2]) / (double) n - emptyCpu;
            System.out.printf("round %d: MMIO write exit %.0f / %.0f ns (%.0f exits/s wall); empty loop %.1f / %.1f ns per iteration%n",
                    r, mmioWall, mmioCpu, 1e9 / (mmioWall + emptyWall), emptyWall, emptyCpu);
        }
    }

    private static Markers run(Path image, long n) throws Exception {
        Markers markers = new Markers(n);
        try (Machine m = Machine.builder(new Arm64Platform()).kernel(image).memory(64L << 20)
                .extension((vm, mmio, closeLater) -> {
                    mmio.register(PROBE, 0x1000, markers);
                    return List.of();
                }).build()) {
            MachineExit exit = m.run();
            if (exit.exitCode() != 0 || markers.wall[3] == 0) throw new IllegalStateException("benchmark guest failed: " + exit);
        }
        return markers;
    }
}
