package org.jvmm.sandbox;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.jvmm.sandbox.KvmBench.Mode;
import org.jvmm.sandbox.KvmBench.TimedLines;
import org.jvmm.virtio.VirtioDevice;

/**
 * Not a test: issue 4 item 9's measurements of the device helpers, on the direct KVM.
 *
 * <ul>
 *   <li>{@code blk ROUNDS N MIB}: the C virtio guest's benchmark variant (guests/virtio/virtio_bench.h) does
 *       N 4 KiB random reads at queue depth 1 and then 8 from a MIB MiB read-only image, once per round with
 *       each of: the in-process device ({@code --sandbox=none}), a helper process without the jail, and a
 *       jailed helper (bubblewrap + seccomp in log mode, as {@code --sandbox-log}: any call outside the blk
 *       policy is printed). IOPS = N / (host time between the guest's "begin" and "end" UART lines).
 *       Also the time from adding the disk to the end of its handshake, and the helper's RSS and PSS at
 *       the end of the run. The order of the three rotates from round to round.</li>
 * </ul>
 * Net throughput: {@link NetKvmBenchmark}; helper start time and memory: {@link org.jvmm.sandbox.bench.HelperStartBenchmark}.
 * Usage: {@code java --enable-native-access=ALL-UNNAMED -Djvmm.repoRoot=. -cp <sandbox test class path>
 * org.jvmm.sandbox.BlkKvmBenchmark blk 4 10000 256}; {@code -Dbench.jail=enforce} jails the helper with
 * the enforcing policy instead of log mode; {@code -Dbench.jail=split} runs the jail's parts apart instead (bubblewrap
 * without the filter, without and with {@code --new-session}, and the filter without bubblewrap).
 */
public final class BlkKvmBenchmark {

    public static void main(String[] args) throws Exception {
        switch (args.length > 0 ? args[0] : "") {
            case "blk" -> blk(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            default -> System.err.println("usage: BlkKvmBenchmark blk ROUNDS N MIB");
        }
        System.exit(0);
    }

    // ------------------------------------------------------------------ blk IOPS

    private static void blk(int rounds, int n, int mib) throws Exception {
        Path dir = Files.createTempDirectory("jvmm-blk-bench");
        Path kernel = KvmBench.buildGuest(dir, "guests/virtio/virtio_test.c", List.of("-Wall", "-Wextra", "-Werror",
                "-Wno-unused-function", "-DVIRTIO_BENCH", "-DQSIZE=32", "-DBENCH_N=" + n));
        Path image = dir.resolve("bench.img");
        byte[] chunk = new byte[(int) KvmBench.MiB];
        new SplittableRandom(7).nextBytes(chunk);
        try (OutputStream o = Files.newOutputStream(image)) {
            for (int i = 0; i < mib; i++) o.write(chunk);
        }
        List<String> denied = Collections.synchronizedList(new ArrayList<>());
        List<Mode> modes = KvmBench.modes(System.getProperty("bench.jail", "log"), denied);
        System.out.printf("%d random 4 KiB reads per queue depth from a %d MiB image (page cache warm), on the direct KVM%n", n, mib);
        System.out.printf("%-6s %-16s %12s %12s %12s %14s %14s%n", "round", "device", "handshake ms", "QD1 IOPS", "QD8 IOPS", "helper RSS MiB", "helper PSS MiB");
        Map<String, List<double[]>> all = new TreeMap<>();
        for (int round = 0; round <= rounds; round++) { // round 0 warms the page cache and the JIT: not counted
            for (int i = 0; i < modes.size(); i++) {
                Mode mode = modes.get((i + round) % modes.size()); // no mode always runs first or last
                double[] r = runGuest(kernel, image, mode);
                if (round == 0) continue;
                all.computeIfAbsent(mode.name(), k -> new ArrayList<>()).add(r);
                System.out.printf("%-6d %-16s %12.0f %12.0f %12.0f %14s %14s%n", round, mode.name(), r[0], r[1], r[2],
                        r[3] < 0 ? "-" : String.format("%.1f", r[3]), r[4] < 0 ? "-" : String.format("%.1f", r[4]));
            }
        }
        KvmBench.deleteTree(dir); // the image is IMAGE_MIB large: leave nothing behind
        System.out.println("medians:");
        for (var e : all.entrySet()) {
            System.out.printf("  %-16s QD1 %8.0f IOPS   QD8 %8.0f IOPS%n", e.getKey(), KvmBench.median(e.getValue(), 1),
                    KvmBench.median(e.getValue(), 2));
        }
        if (!"enforce".equals(System.getProperty("bench.jail"))) {
            System.out.println("calls outside the blk policy (jailed helper, log mode): " + (denied.isEmpty() ? "none" : denied));
        }
    }

    /** handshake ms, QD1 IOPS, QD8 IOPS, helper RSS MiB, helper PSS MiB (-1 without a helper). */
    private static double[] runGuest(Path kernel, Path image, Mode mode) throws Exception {
        long t0 = System.nanoTime();
        List<VirtioDevice> devices = new SandboxedDevices(mode.sandbox(), line -> System.err.println(line), mode.commandLine())
                .block(image, true).open();
        double handshakeMs = (System.nanoTime() - t0) / 1e6;
        TimedLines uart = new TimedLines();
        double[] memory = KvmBench.runMachine(kernel, devices, uart, mode.sandbox() == Sandbox.PROCESS ? "blk" : null);
        return new double[] {handshakeMs, uart.rate("qd 1"), uart.rate("qd 8"), memory[0], memory[1]};
    }
}
