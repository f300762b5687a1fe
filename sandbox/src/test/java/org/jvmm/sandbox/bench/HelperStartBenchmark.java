package org.jvmm.sandbox.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.Helper;
import org.jvmm.sandbox.HelperCommand;
import org.jvmm.sandbox.JailedLaunch;
import org.jvmm.sandbox.Sandbox;
import org.jvmm.sandbox.SandboxedDevices;
import org.jvmm.sandbox.jail.SeccompMode;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.net.DatagramSocketBackend;
import org.jvmm.virtio.net.MacAddress;

/**
 * Not a test: issue 4 item 9's helper start time and memory. Launch → handshake done for one blk helper
 * ({@link SandboxedDevices#block} then {@link SandboxedDevices#open}), ROUNDS times without the jail and
 * ROUNDS times in it (bubblewrap + the enforcing seccomp policy); then RSS and PSS ({@code smaps_rollup})
 * of each of three jailed helpers (blk, net, console) running at once.
 *
 * <p>It lives outside the sandbox module's packages so that it can run against jvmm's jars on the module
 * path, as bin/jvmm runs: helpers are then launched from the jars, which the helpers' AOT cache requires.
 * Run it with and without {@code -Djvmm.helperAot=build/helper.aot}; the commands are in BENCHMARKS.md.
 */
public final class HelperStartBenchmark {

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        Path dir = Files.createTempDirectory("jvmm-helper-bench");
        Path image = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        String aot = System.getProperty("jvmm.helperAot", "");
        System.out.println("helpers from " + (HelperCommand.fromModulePath() ? "the module path" : "the class path")
                + ", AOT cache: " + (aot.isEmpty() ? "none" : aot));
        Function<HelperCommand, List<String>> jailed = JailedLaunch.commandLine(SeccompMode.ENFORCE, l -> {});
        Map<String, Function<HelperCommand, List<String>>> launches = Map.of("plain", HelperCommand::command, "jailed", jailed);
        for (String kind : List.of("plain", "jailed")) {
            List<Double> ms = new ArrayList<>();
            for (int round = 0; round <= rounds; round++) {
                long t0 = System.nanoTime();
                List<VirtioDevice> d = new SandboxedDevices(Sandbox.PROCESS, l -> {}, launches.get(kind)).block(image, false).open();
                double took = (System.nanoTime() - t0) / 1e6;
                d.forEach(VirtioDevice::close);
                if (round > 0) ms.add(took); // round 0 warms the page cache and this JVM
            }
            Collections.sort(ms);
            System.out.printf("blk helper, %-6s launch -> handshake done: median %4.0f ms, min %4.0f, max %4.0f (%d rounds)%n",
                    kind, ms.get(ms.size() / 2), ms.getFirst(), ms.getLast(), ms.size());
        }
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_DGRAM | LinuxLibc.SOCK_CLOEXEC, 0);
        List<VirtioDevice> three = new SandboxedDevices(Sandbox.PROCESS, l -> {}, jailed)
                .block(image, false)
                .net(new DatagramSocketBackend("unixgram:bench", pair[0]), MacAddress.parse("52:54:00:12:34:56"))
                .console(InputStream.nullInputStream(), OutputStream.nullOutputStream(), 80, 25)
                .open();
        try {
            Thread.sleep(2000); // each helper's threads have started and its heap has settled
            for (String kind : List.of("blk", "net", "console")) {
                double[] m = memory(kind);
                // A cache the JVM rejects is silent (-Xlog:aot=off): whether it is mapped says if the jail let it in.
                String cache = aot.isEmpty() ? "" : ", AOT cache " + (mapped(kind, Path.of(aot).toAbsolutePath()) ? "mapped" : "NOT mapped");
                System.out.printf("%-8s helper (jailed, 3 running): RSS %.1f MiB, PSS %.1f MiB%s%n", kind, m[0], m[1], cache);
            }
        } finally {
            three.forEach(VirtioDevice::close);
            LinuxLibc.close(pair[1]);
        }
        Files.delete(image);
        Files.delete(dir);
        System.exit(0);
    }

    /** Whether this JVM's helper JVM of {@code kind} has {@code file} mapped (/proc/PID/maps). */
    static boolean mapped(String kind, Path file) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + helperJvm(kind).pid() + "/maps")).stream().anyMatch(l -> l.endsWith(" " + file));
    }

    /** RSS and PSS in MiB (smaps_rollup) of this JVM's helper JVM of {@code kind} (not its bubblewrap). */
    public static double[] memory(String kind) throws IOException {
        ProcessHandle helper = helperJvm(kind);
        double rss = 0, pss = 0;
        for (String l : Files.readAllLines(Path.of("/proc/" + helper.pid() + "/smaps_rollup"))) {
            String[] f = l.trim().split("\\s+");
            if (f[0].equals("Rss:")) rss = Long.parseLong(f[1]) / 1024.0;
            if (f[0].equals("Pss:")) pss = Long.parseLong(f[1]) / 1024.0;
        }
        return new double[] {rss, pss};
    }

    /** This JVM's helper JVM of {@code kind} (the java process itself, not its bubblewrap). */
    public static ProcessHandle helperJvm(String kind) {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .filter(p -> p.info().arguments().map(a -> {
                    List<String> args = List.of(a);
                    return args.stream().anyMatch(s -> s.endsWith(Helper.class.getName())) && args.contains(kind);
                }).orElse(false))
                .findFirst().orElseThrow(() -> new IllegalStateException("no " + kind + " helper running"));
    }
}
