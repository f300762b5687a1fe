package org.jvmm.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.sandbox.bench.HelperStartBenchmark;
import org.jvmm.sandbox.jail.Bubblewrap;
import org.jvmm.sandbox.jail.SeccompMode;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.VirtioMmioDevices;
import org.jvmm.x86.X86Layout;

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
 * Helper start time and memory: {@link org.jvmm.sandbox.bench.HelperStartBenchmark}.
 * Usage: {@code java --enable-native-access=ALL-UNNAMED -Djvmm.repoRoot=. -cp <sandbox test class path>
 * org.jvmm.sandbox.BlkKvmBenchmark blk 4 10000 256}; {@code -Dbench.jail=enforce} jails the helper with
 * the enforcing policy instead of log mode; {@code -Dbench.jail=split} runs the jail's parts apart instead (bubblewrap
 * without the filter, with and without {@code --new-session}, and the filter without bubblewrap).
 */
public final class BlkKvmBenchmark {

    private static final long MiB = 1 << 20;

    public static void main(String[] args) throws Exception {
        switch (args.length > 0 ? args[0] : "") {
            case "blk" -> blk(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            default -> System.err.println("usage: BlkKvmBenchmark blk ROUNDS N MIB");
        }
        System.exit(0);
    }

    // ------------------------------------------------------------------ blk IOPS

    private record Mode(String name, Sandbox sandbox, Function<HelperCommand, List<String>> commandLine) {}

    private static void blk(int rounds, int n, int mib) throws Exception {
        Path dir = Files.createTempDirectory("jvmm-blk-bench");
        Path kernel = buildGuest(dir, n);
        Path image = dir.resolve("bench.img");
        byte[] chunk = new byte[(int) MiB];
        new SplittableRandom(7).nextBytes(chunk);
        try (OutputStream o = Files.newOutputStream(image)) {
            for (int i = 0; i < mib; i++) o.write(chunk);
        }
        List<String> denied = Collections.synchronizedList(new ArrayList<>());
        List<Mode> modes = List.of(
                new Mode("in-process", Sandbox.NONE, HelperCommand::command),
                new Mode("helper", Sandbox.PROCESS, HelperCommand::command),
                new Mode("helper, jailed", Sandbox.PROCESS, JailedLaunch.commandLine(
                        "enforce".equals(System.getProperty("bench.jail")) ? SeccompMode.ENFORCE : SeccompMode.LOG, denied::add)));
        if ("split".equals(System.getProperty("bench.jail"))) {
            // The jail's two halves apart: bubblewrap's namespaces without the filter, the filter without bubblewrap.
            modes = List.of(
                    new Mode("helper", Sandbox.PROCESS, HelperCommand::command),
                    new Mode("bwrap only", Sandbox.PROCESS, command -> {
                        Bubblewrap jail = Bubblewrap.locate().javaHome(command.javaHome()).bind(command.socketPath());
                        command.codePath().forEach(p -> jail.readOnly(p.toAbsolutePath()));
                        return jail.wrap(command.withoutParentCheck().command());
                    }),
                    new Mode("bwrap, no setsid", Sandbox.PROCESS, command -> {
                        // --new-session's setsid also gives the helper its own scheduler autogroup
                        Bubblewrap jail = Bubblewrap.locate().javaHome(command.javaHome()).bind(command.socketPath());
                        command.codePath().forEach(p -> jail.readOnly(p.toAbsolutePath()));
                        return jail.wrap(command.withoutParentCheck().command()).stream().filter(a -> !a.equals("--new-session")).toList();
                    }),
                    new Mode("seccomp only", Sandbox.PROCESS, command -> {
                        List<String> c = new ArrayList<>(command.command());
                        c.addAll(List.of("--jail", "enforce"));
                        return c;
                    }));
        }
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
        try (var files = Files.walk(dir)) { // the image is IMAGE_MIB large: leave nothing behind
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
        System.out.println("medians:");
        for (var e : all.entrySet()) {
            System.out.printf("  %-16s QD1 %8.0f IOPS   QD8 %8.0f IOPS%n", e.getKey(), median(e.getValue(), 1), median(e.getValue(), 2));
        }
        if (!"enforce".equals(System.getProperty("bench.jail"))) {
            System.out.println("calls outside the blk policy (jailed helper, log mode): " + (denied.isEmpty() ? "none" : denied));
        }
    }

    private static double median(List<double[]> rows, int column) {
        double[] v = rows.stream().mapToDouble(r -> r[column]).sorted().toArray();
        return v[v.length / 2];
    }

    /** handshake ms, QD1 IOPS, QD8 IOPS, helper RSS MiB, helper PSS MiB (-1 without a helper). */
    private static double[] runGuest(Path kernel, Path image, Mode mode) throws Exception {
        long t0 = System.nanoTime();
        List<VirtioDevice> devices = new SandboxedDevices(mode.sandbox(), line -> System.err.println(line), mode.commandLine())
                .block(image, true).open();
        double handshakeMs = (System.nanoTime() - t0) / 1e6;
        List<Integer> gsis = IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList();
        VirtioMmioDevices virtio = new VirtioMmioDevices(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE, gsis, EventFd::new);
        devices.forEach(virtio::add);
        TimedLines uart = new TimedLines();
        double[] memory = {-1, -1};
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).memory(64 * MiB).cpus(1)
                .console(InputStream.nullInputStream(), uart).extension(virtio).build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            try {
                guard.submit(m::run).get(600, TimeUnit.SECONDS);
            } finally {
                guard.shutdownNow();
            }
            if (mode.sandbox() == Sandbox.PROCESS) memory = HelperStartBenchmark.memory("blk");
        } finally {
            devices.forEach(VirtioDevice::close);
        }
        return new double[] {handshakeMs, uart.iops(1), uart.iops(8), memory[0], memory[1]};
    }

    /** The UART's lines, each with the host's time at its newline. */
    private static final class TimedLines extends OutputStream {
        private final StringBuilder line = new StringBuilder();
        private final Map<String, Long> at = Collections.synchronizedMap(new TreeMap<>());
        private final List<String> lines = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void write(int b) {
            if (b != '\n') {
                line.append((char) b);
                return;
            }
            long now = System.nanoTime();
            String l = line.toString();
            line.setLength(0);
            lines.add(l);
            Matcher m = Pattern.compile("BENCH: (begin|end) qd (\\d+).*").matcher(l);
            if (m.matches()) at.put(m.group(1) + m.group(2), now);
        }

        double iops(int qd) {
            Long begin = at.get("begin" + qd), end = at.get("end" + qd);
            String endLine = lines.stream().filter(l -> l.startsWith("BENCH: end qd " + qd + " ")).findFirst().orElse(null);
            if (begin == null || end == null || endLine == null) throw new IllegalStateException("the guest did not finish QD" + qd + ": " + lines);
            int ok = Integer.parseInt(endLine.substring(endLine.lastIndexOf(' ') + 1));
            return ok / ((end - begin) / 1e9);
        }
    }

    private static Path buildGuest(Path dir, int n) throws IOException, InterruptedException {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", "..")).toAbsolutePath();
        Path probe = root.resolve("arch-x86/src/test/probe");
        run(dir, "nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        run(dir, "gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-sse", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-Wall", "-Wextra", "-Werror", "-Wno-unused-function", "-DVIRTIO_BENCH", "-DQSIZE=32", "-DBENCH_N=" + n,
                "-o", "bench.o", root.resolve("guests/virtio/virtio_test.c").toString());
        run(dir, "ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "bench.elf", "header.o", "bench.o");
        run(dir, "objcopy", "-O", "binary", "bench.elf", "bench.bzImage");
        return dir.resolve("bench.bzImage");
    }

    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IOException(String.join(" ", command) + ":\n" + log);
    }
}
