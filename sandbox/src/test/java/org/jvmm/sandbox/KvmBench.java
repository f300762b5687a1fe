package org.jvmm.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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
 * What {@link BlkKvmBenchmark} and {@link NetKvmBenchmark} share: the device modes they compare, building a
 * C benchmark guest, running it on the direct KVM with the devices under test, and timing the phases between
 * its {@code BENCH: begin PHASE} and {@code BENCH: end PHASE ok K} UART lines.
 */
final class KvmBench {

    static final long MiB = 1 << 20;

    private KvmBench() {}

    /** One way of serving the device under test. */
    record Mode(String name, Sandbox sandbox, Function<HelperCommand, List<String>> commandLine) {}

    /**
     * The modes for {@code jail}: {@code log} or {@code enforce} give the in-process device, a plain helper and a
     * helper in bubblewrap with the seccomp filter in that mode (calls outside the policy go to {@code denied} in
     * log mode); {@code split} gives the jail's parts apart instead. With {@code -Dbench.fullJit=true} a plain helper
     * whose JVM has C2 as well ({@link HelperCommand#JVM_FLAGS} without {@code -XX:TieredStopAtLevel=1}) comes last,
     * to tell the helper's compiler apart from the rest of its per-request cost.
     */
    static List<Mode> modes(String jail, List<String> denied) {
        List<Mode> modes = new ArrayList<>(baseModes(jail, denied));
        if (Boolean.getBoolean("bench.fullJit")) {
            modes.add(new Mode("helper, full JIT", Sandbox.PROCESS,
                    command -> command.command().stream().filter(a -> !a.equals("-XX:TieredStopAtLevel=1")).toList()));
        }
        return modes;
    }

    private static Bubblewrap bwrap(HelperCommand command) {
        Bubblewrap jailer = Bubblewrap.locate().javaHome(command.javaHome()).bind(command.socketPath());
        command.codePath().forEach(p -> jailer.readOnly(p.toAbsolutePath()));
        return jailer;
    }

    private static List<Mode> baseModes(String jail, List<String> denied) {
        if ("split".equals(jail)) {
            // The jail's two halves apart: bubblewrap's namespaces without the filter, the filter without bubblewrap.
            return List.of(
                    new Mode("helper", Sandbox.PROCESS, HelperCommand::command),
                    new Mode("bwrap only", Sandbox.PROCESS, command -> bwrap(command).wrap(command.withoutParentCheck().command())),
                    // --new-session's setsid also gives the helper a scheduler autogroup of its own
                    new Mode("bwrap + setsid", Sandbox.PROCESS,
                            command -> bwrap(command).newSession().wrap(command.withoutParentCheck().command())),
                    new Mode("seccomp only", Sandbox.PROCESS, command -> {
                        List<String> c = new ArrayList<>(command.command());
                        c.addAll(List.of("--jail", "enforce"));
                        return c;
                    }));
        }
        return List.of(
                new Mode("in-process", Sandbox.NONE, HelperCommand::command),
                new Mode("helper", Sandbox.PROCESS, HelperCommand::command),
                new Mode("helper, jailed", Sandbox.PROCESS, JailedLaunch.commandLine(
                        "enforce".equals(jail) ? SeccompMode.ENFORCE : SeccompMode.LOG, denied::add)));
    }

    /**
     * Boots {@code kernel} on one vCPU with {@code devices} in the first virtio-mmio slots, its UART into
     * {@code uart}, until the guest resets (at most 10 minutes); then closes the devices. Returns the RSS and PSS
     * in MiB of the helper of {@code helperKind} taken just before the machine stops, or -1s for null.
     */
    static double[] runMachine(Path kernel, List<VirtioDevice> devices, OutputStream uart, String helperKind) throws Exception {
        double[] memory = {-1, -1};
        try {
            List<Integer> gsis = IntStream.range(0, X86Layout.VIRTIO_MMIO_SLOTS).map(X86Layout::virtioGsi).boxed().toList();
            VirtioMmioDevices virtio = new VirtioMmioDevices(X86Layout.VIRTIO_MMIO_BASE, X86Layout.VIRTIO_MMIO_SLOT_SIZE, gsis, EventFd::new);
            devices.forEach(virtio::add);
            try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).memory(64 * MiB).cpus(1)
                    .console(InputStream.nullInputStream(), uart).extension(virtio).build()) {
                ExecutorService guard = Executors.newSingleThreadExecutor();
                try {
                    guard.submit(m::run).get(600, TimeUnit.SECONDS);
                } finally {
                    guard.shutdownNow();
                }
                if (helperKind != null) memory = HelperStartBenchmark.memory(helperKind);
            }
        } finally {
            devices.forEach(VirtioDevice::close);
        }
        return memory;
    }

    /** The UART's lines, each phase's begin and end with the host's time at its newline. */
    static final class TimedLines extends OutputStream {
        private static final Pattern BEGIN = Pattern.compile("BENCH: begin (.+)"), END = Pattern.compile("BENCH: end (.+) ok (\\d+)");
        private final StringBuilder line = new StringBuilder();
        private final Map<String, Long> at = Collections.synchronizedMap(new TreeMap<>());
        private final Map<String, Integer> ok = Collections.synchronizedMap(new TreeMap<>());
        private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        private final Consumer<String> onLine;

        TimedLines() {
            this(l -> {});
        }

        /** {@code onLine} sees each line as it completes, on the vCPU's thread: it must not block. */
        TimedLines(Consumer<String> onLine) {
            this.onLine = onLine;
        }

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
            Matcher m = BEGIN.matcher(l);
            if (m.matches()) at.put("begin " + m.group(1), now);
            m = END.matcher(l);
            if (m.matches()) {
                at.put("end " + m.group(1), now);
                ok.put(m.group(1), Integer.parseInt(m.group(2)));
            }
            onLine.accept(l);
        }

        /** K of the phase's end line. */
        int ok(String phase) {
            seconds(phase);
            return ok.get(phase);
        }

        /** Host time from the phase's begin line to its end line. */
        double seconds(String phase) {
            Long begin = at.get("begin " + phase), end = at.get("end " + phase);
            if (begin == null || end == null) throw new IllegalStateException("the guest did not finish " + phase + ": " + lines);
            return (end - begin) / 1e9;
        }

        /** K per second of the phase. */
        double rate(String phase) {
            return ok(phase) / seconds(phase);
        }

        /** Every line so far. */
        List<String> lines() {
            synchronized (lines) {
                return List.copyOf(lines);
            }
        }
    }

    /**
     * Compiles {@code source} (relative to the repository) with the common freestanding flags and {@code flags}
     * against the boot-protocol probe's header and linker script, in {@code dir}; returns the bzImage.
     */
    static Path buildGuest(Path dir, String source, List<String> flags) throws IOException, InterruptedException {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", "..")).toAbsolutePath();
        Path probe = root.resolve("arch-x86/src/test/probe");
        run(dir, "nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        List<String> gcc = new ArrayList<>(List.of("gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-sse",
                "-mno-red-zone", "-fno-pic", "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
                "-fcf-protection=none"));
        gcc.addAll(flags);
        gcc.addAll(List.of("-o", "bench.o", root.resolve(source).toString()));
        run(dir, gcc.toArray(String[]::new));
        run(dir, "ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "bench.elf", "header.o", "bench.o");
        run(dir, "objcopy", "-O", "binary", "bench.elf", "bench.bzImage");
        return dir.resolve("bench.bzImage");
    }

    static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IOException(String.join(" ", command) + ":\n" + log);
    }

    static double median(List<double[]> rows, int column) {
        double[] v = rows.stream().mapToDouble(r -> r[column]).sorted().toArray();
        return v[v.length / 2];
    }

    /** Deletes {@code dir} and everything under it. */
    static void deleteTree(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
