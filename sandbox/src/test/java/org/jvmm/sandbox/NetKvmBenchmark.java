package org.jvmm.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.KvmBench.Mode;
import org.jvmm.sandbox.KvmBench.TimedLines;
import org.jvmm.sandbox.bench.HelperStartBenchmark;
import org.jvmm.virtio.VirtioDevice;
import org.jvmm.virtio.net.DatagramSocketBackend;
import org.jvmm.virtio.net.MacAddress;

/**
 * Not a test: issue 4 item 9's net throughput of the device helpers against the in-process device, on the
 * direct KVM.
 *
 * <p>{@code net ROUNDS N}: the C net guest's benchmark variant (devices-virtio/src/test/guests/net_bench.h, net.c
 * built with {@code -DNET_BENCH -DBENCH_N=N}) first sends N frames of 1514 bytes back to back (tx), then takes
 * N such frames that the host sends as fast as the socket accepts them (rx). The device's backend is one end of
 * an AF_UNIX datagram socket pair ({@link DatagramSocketBackend}, as {@code --net unixgram:}); on the other end
 * this program counts the guest's frames and sends the rx frames once the guest prints {@code BENCH: begin rx},
 * with blocking sends as the flow control. Rates are K / (host time between the guest's begin and end UART
 * lines), in frames/s and in Mbit/s of Ethernet frames (header included, no virtio header). Each round runs the
 * in-process device ({@code --sandbox=none}), a plain helper and a jailed helper (bubblewrap + the enforcing
 * seccomp policy; {@code -Dbench.jail=log} or {@code split} as in {@link BlkKvmBenchmark}), the order rotating
 * from round to round; round 0 warms up and is not counted.
 *
 * <p>The guest runs in KVM's instruction emulator on the test machines, and its per-frame loop can then be the
 * bottleneck; so each round also prints the host CPU time per frame that serves the device ({@link DeviceCpu}),
 * the guest's notifications, batch sizes and empty polls (net_bench.h's stats lines), and how many of the guest's
 * frames the device dropped because the host peer's socket was full (the datagram backend never waits).
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED -Djvmm.repoRoot=. -cp <sandbox test class path>
 * org.jvmm.sandbox.NetKvmBenchmark net 5 50000}.
 */
public final class NetKvmBenchmark {

    private static final int FRAME = 1514;
    private static final MacAddress GUEST_MAC = MacAddress.parse("52:54:00:12:34:56");

    public static void main(String[] args) throws Exception {
        switch (args.length > 0 ? args[0] : "") {
            case "net" -> net(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
            default -> System.err.println("usage: NetKvmBenchmark net ROUNDS N");
        }
        System.exit(0);
    }

    private static void net(int rounds, int n) throws Exception {
        Path dir = Files.createTempDirectory("jvmm-net-bench");
        Path kernel = KvmBench.buildGuest(dir, "devices-virtio/src/test/guests/net.c", List.of("-Wall", "-Wextra", "-Werror",
                "-Wno-unused-parameter", "-DNET_BENCH", "-DBENCH_N=" + n));
        String jail = System.getProperty("bench.jail", "enforce");
        List<String> denied = Collections.synchronizedList(new ArrayList<>());
        List<Mode> modes = KvmBench.modes(jail, denied);
        System.out.printf("%d frames of %d bytes each way through a unixgram socket pair, on the direct KVM; jail: %s%n", n, FRAME, jail);
        System.out.printf("%-6s %-16s %9s %10s %8s %10s %8s %10s %8s %8s %31s   %s%n", "round", "device", "handshake", "tx fr/s", "tx Mb/s",
                "rx fr/s", "rx Mb/s", "tx dropped", "RSS MiB", "PSS MiB", "CPU µs/fr tx|rx (helper's part)",
                "guest tx|rx: notifications/frame, frames/batch, empty polls/frame");
        Map<String, List<double[]>> all = new TreeMap<>();
        for (int round = 0; round <= rounds; round++) {
            for (int i = 0; i < modes.size(); i++) {
                Mode mode = modes.get((i + round) % modes.size()); // no mode always runs first or last
                double[] r = runGuest(kernel, mode, n);
                if (round == 0) continue;
                all.computeIfAbsent(mode.name(), k -> new ArrayList<>()).add(r);
                System.out.printf("%-6d %-16s %6.0f ms %10.0f %8.1f %10.0f %8.1f %10.0f %8s %8s %5.2f|%5.2f (%5.2f|%5.2f)   %.3f %.1f %.1f | %.3f %.1f %.1f%n",
                        round, mode.name(), r[0], r[1], mbits(r[1]), r[2], mbits(r[2]), r[3],
                        r[4] < 0 ? "-" : String.format("%.1f", r[4]), r[5] < 0 ? "-" : String.format("%.1f", r[5]), r[12], r[13], r[14], r[15],
                        r[6], r[7], r[8], r[9], r[10], r[11]);
            }
        }
        KvmBench.deleteTree(dir);
        System.out.println("medians (ratio to in-process):");
        List<double[]> base = all.get("in-process");
        for (var e : all.entrySet()) {
            StringBuilder line = new StringBuilder(String.format("  %-16s", e.getKey()));
            for (int column : new int[] {1, 2, 12, 13}) {
                double m = KvmBench.median(e.getValue(), column);
                String what = switch (column) {
                    case 1 -> String.format("tx %6.0f frames/s %6.1f Mbit/s", m, mbits(m));
                    case 2 -> String.format("rx %6.0f frames/s %6.1f Mbit/s", m, mbits(m));
                    case 12 -> String.format("CPU tx %5.2f µs/frame", m);
                    default -> String.format("CPU rx %5.2f µs/frame", m);
                };
                line.append("   ").append(what);
                if (base != null) line.append(String.format(" (%.2f)", m / KvmBench.median(base, column)));
            }
            System.out.println(line);
        }
        if ("log".equals(jail)) {
            System.out.println("calls outside the net policy (jailed helper, log mode): " + (denied.isEmpty() ? "none" : denied));
        }
    }

    private static double mbits(double framesPerSecond) {
        return framesPerSecond * FRAME * 8 / 1e6;
    }

    /**
     * handshake ms, tx frames/s, rx frames/s, guest frames the host peer did not get, helper RSS MiB, helper PSS
     * MiB (-1 without a helper), for tx and for rx the guest's notifications per frame, frames per batch and
     * empty polls per frame, then the device's CPU µs per frame in tx and in rx ({@link DeviceCpu}), and of these the
     * helper JVM's part.
     */
    private static double[] runGuest(Path kernel, Mode mode, int n) throws Exception {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_DGRAM | LinuxLibc.SOCK_CLOEXEC, 0);
        HostPeer peer = new HostPeer(pair[1], n);
        try {
            long t0 = System.nanoTime();
            List<VirtioDevice> devices = new SandboxedDevices(mode.sandbox(), line -> System.err.println(line), mode.commandLine())
                    .net(new DatagramSocketBackend("unixgram:bench", pair[0]), GUEST_MAC).open();
            double handshakeMs = (System.nanoTime() - t0) / 1e6;
            DeviceCpu cpu = new DeviceCpu(mode.sandbox() == Sandbox.PROCESS);
            TimedLines uart = new TimedLines(line -> {
                if (line.startsWith("BENCH: begin ") || line.startsWith("BENCH: end ")) cpu.mark(line.split(" ")[1] + " " + line.split(" ")[2]);
                if (line.equals("BENCH: begin rx")) peer.startSending();
            });
            double[] memory = KvmBench.runMachine(kernel, devices, uart, mode.sandbox() == Sandbox.PROCESS ? "net" : null);
            long got = peer.stop();
            for (String l : uart.lines()) if (l.startsWith("BENCH: FAIL")) throw new IllegalStateException(mode.name() + ": " + l);
            int tx = uart.ok("tx"), rx = uart.ok("rx");
            if (tx < n || rx < n) {
                System.out.printf("%s: short phase: the guest got back %d of %d tx frames and got %d of %d rx frames of the right size"
                        + " (host send error: %s)%n", mode.name(), tx, n, rx, n, peer.sendError());
            }
            long[] stx = stats(uart, "tx"), srx = stats(uart, "rx");
            return new double[] {handshakeMs, uart.rate("tx"), uart.rate("rx"), tx - got, memory[0], memory[1],
                    stx[0] / (double) tx, tx / (double) stx[1], stx[2] / (double) tx,
                    srx[0] / (double) rx, rx / (double) srx[1], srx[2] / (double) rx,
                    cpu.nanos("tx") / 1e3 / tx, cpu.nanos("rx") / 1e3 / rx, cpu.helperNanos("tx") / 1e3 / tx, cpu.helperNanos("rx") / 1e3 / rx};
        } finally {
            peer.stop();
            LinuxLibc.close(pair[1]);
        }
    }

    /**
     * The host CPU time that serves the device, as the sum of {@code /proc/PID/task/TID/schedstat}'s time on CPU:
     * every thread of this JVM but the vCPU's and the host peer's (so the in-process device's threads, and in both
     * modes the JVM's own compiler and GC threads and jvmm's side of the vhost-user link), plus every thread of the
     * helper JVM. Throughput alone cannot compare the modes while the emulated guest is the bottleneck; this can.
     * Sampled on the vCPU thread at the guest's begin and end lines, so the guest waits for the sample (a few ms
     * a phase) but the phase's timestamps do not include it.
     */
    private static final class DeviceCpu {
        private final List<Long> pids = new ArrayList<>();
        private final Map<String, long[]> at = new ConcurrentHashMap<>();

        DeviceCpu(boolean helper) {
            pids.add(ProcessHandle.current().pid());
            if (helper) pids.add(HelperStartBenchmark.helperJvm("net").pid());
        }

        void mark(String event) {
            long[] t = new long[pids.size()];
            for (int i = 0; i < t.length; i++) t[i] = total(pids.get(i));
            at.put(event, t);
        }

        /** CPU ns between the phase's begin and end lines. */
        long nanos(String phase) {
            long sum = 0;
            for (int i = 0; i < pids.size(); i++) sum += nanos(phase, i);
            return sum;
        }

        /** Of {@link #nanos}, the helper JVM's part (0 without a helper). */
        long helperNanos(String phase) {
            return pids.size() > 1 ? nanos(phase, 1) : 0;
        }

        private long nanos(String phase, int i) {
            return at.get("end " + phase)[i] - at.get("begin " + phase)[i];
        }

        private long total(long pid) {
            long sum = 0;
            try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
                for (Path task : tasks) {
                    try {
                        if (pid == pids.getFirst()) {
                            String comm = Files.readString(task.resolve("comm")).trim();
                            if (comm.startsWith("vcpu-") || comm.startsWith("net-bench-peer")) continue;
                        }
                        sum += Long.parseLong(Files.readString(task.resolve("schedstat")).split(" ")[0]);
                    } catch (IOException | RuntimeException e) {
                        // the thread ended meanwhile
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return sum;
        }
    }

    /** The guest's "BENCH: stats PHASE notified M batches B polls P" line: M, B, P. */
    private static long[] stats(TimedLines uart, String phase) {
        Pattern p = Pattern.compile("BENCH: stats " + phase + " notified (\\d+) batches (\\d+) polls (\\d+)");
        for (String l : uart.lines()) {
            Matcher m = p.matcher(l);
            if (m.matches()) return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))};
        }
        throw new IllegalStateException("no stats line for " + phase + ": " + uart.lines());
    }

    /**
     * The host's end of the link: a thread that counts the guest's frames, and one that sends the rx phase's N
     * frames when {@link #startSending} is called. Blocking sends are the flow control: the device reads a
     * frame only when the guest has posted a buffer for it, and the socket holds few datagrams.
     */
    private static final class HostPeer {
        private final int fd, n;
        private final AtomicLong received = new AtomicLong();
        private final AtomicReference<String> sendError = new AtomicReference<>("none");
        private final CountDownLatch go = new CountDownLatch(1);
        private final Thread receiver, sender;
        private volatile boolean stopping;

        HostPeer(int fd, int n) {
            this.fd = fd;
            this.n = n;
            receiver = Thread.ofPlatform().daemon().name("net-bench-peer-rx").start(this::receive);
            sender = Thread.ofPlatform().daemon().name("net-bench-peer-tx").start(this::send);
        }

        void startSending() {
            go.countDown();
        }

        /** Stops both threads (a sender still blocked in send ends when the device's end closes); the guest's frame count. */
        long stop() throws InterruptedException {
            stopping = true;
            go.countDown();
            receiver.join();
            sender.join(10_000);
            return received.get();
        }

        String sendError() {
            return sendError.get();
        }

        private void receive() {
            byte[] buffer = new byte[FRAME + 1];
            while (!stopping) {
                // A timeout, so that stop() needs nothing from the device's end to end this thread.
                if (LinuxLibc.poll(new int[] {fd}, LinuxLibc.POLLIN, 100)[0] == 0) continue;
                if (LinuxLibc.read(fd, buffer, 0, buffer.length) == FRAME) received.incrementAndGet();
            }
        }

        private void send() {
            byte[] frame = new byte[FRAME];
            byte[] guest = GUEST_MAC.octets();
            System.arraycopy(guest, 0, frame, 0, 6);
            byte[] host = {0x02, 0, 0, 0, 0, 1}; // locally administered
            System.arraycopy(host, 0, frame, 6, 6);
            frame[12] = (byte) 0x88; // IEEE 802 local experimental ethertype, as the guest's frames
            frame[13] = (byte) 0xb5;
            for (int i = 14; i < FRAME; i++) frame[i] = (byte) i;
            try {
                go.await();
                for (int i = 0; i < n && !stopping; i++) LinuxLibc.send(fd, frame, 0, FRAME, LinuxLibc.MSG_NOSIGNAL);
            } catch (SysException e) {
                sendError.set(e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
