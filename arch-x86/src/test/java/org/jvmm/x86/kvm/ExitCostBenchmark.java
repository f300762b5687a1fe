package org.jvmm.x86.kvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jvmm.core.bus.BusDevice;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * Nanoseconds per port-I/O exit and per MMIO exit through jvmm's whole exit path (KVM backend,
 * {@code VcpuLoop}, bus, device), next to the raw C loop ({@code bench/kvm_exit_cost.c}) on the same
 * guest ({@code bench16.asm}) in the same run. Run it with {@code bench/exit-cost}.
 *
 * <p>Each figure is (time of a loop of N exiting writes − time of an empty loop of N) / N, so the cost of
 * the guest's own loop instructions (emulated on hosts without VT-x/SVM) is taken out; it is given in
 * wall time and in the vCPU thread's CPU time, which a busy host disturbs much less.
 */
public final class ExitCostBenchmark {

    private static final long RAM = 0xa0000;     // real-mode RAM up to the legacy video hole
    private static final long MMIO = 0xa0000;    // the guest's MMIO target: the first unbacked address
    private static final long COUNT_AT = 0x0ff8; // where bench16.asm reads its iteration count

    public static void main(String[] args) throws Exception {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path guest = Guests.binary("bench16");
        Path c = compileC();
        runC(c, guest, count);
        System.out.println("warm-up:\n" + java(guest, Math.max(1000, count / 10)));
        for (int i = 0; i < rounds; i++) {
            System.out.println(java(guest, count));
            runC(c, guest, count);
        }
    }

    /** One machine run: returns the figures as one line. */
    private static String java(Path guest, int count) throws InterruptedException {
        AtomicLongArray t = new AtomicLongArray(4);
        AtomicLongArray cpu = new AtomicLongArray(4);
        ConformancePlatform platform = new ConformancePlatform(ConformancePlatform.Mode.REAL, false, w -> {
            w.memory().write32(COUNT_AT, count);
            w.pio().register(0x80, 1, sink("port80"));
            w.mmio().register(MMIO, 0x1000, sink("mmio-sink"));
            w.pio().register(0x81, 4, new BusDevice() {
                @Override public String name() { return "markers"; }
                @Override public long read(long offset, int size) { return 0; }
                @Override public void write(long offset, int size, long value) {
                    // 0x83 start, 0x84 empty loop done, 0x81 port loop done, 0x82 MMIO loop done
                    int slot = switch ((int) offset) { case 2 -> 0; case 3 -> 1; case 0 -> 2; default -> 3; };
                    t.set(slot, System.nanoTime());
                    // The vCPU thread's CPU time (user + system, where KVM_RUN's work is counted):
                    // not inflated by other processes competing for the CPU, unlike wall time.
                    cpu.set(slot, LinuxLibc.clockGettime(LinuxLibc.CLOCK_THREAD_CPUTIME_ID));
                }
            });
        });
        try (Machine m = Machine.builder(platform).kernel(guest).memory(RAM).build()) {
            MachineExit exit = m.run();
            if (exit.exitCode() != 0) throw new IllegalStateException("benchmark guest failed: " + exit.reason());
        }
        return line("java wall", t, count) + "\n" + line("java cpu ", cpu, count);
    }

    private static String line(String what, AtomicLongArray x, int count) {
        double loop = (double) (x.get(1) - x.get(0)) / count;
        double pio = (double) (x.get(2) - x.get(1)) / count;
        double mmio = (double) (x.get(3) - x.get(2)) / count;
        return "%s: count=%d loop=%.0f ns/iter pio=%.0f ns/iter mmio=%.0f ns/iter => pio exit %.0f ns, mmio exit %.0f ns"
                .formatted(what, count, loop, pio, mmio, pio - loop, mmio - loop);
    }

    private static BusDevice sink(String name) {
        return new BusDevice() {
            @Override public String name() { return name; }
            @Override public long read(long offset, int size) { return 0; }
            @Override public void write(long offset, int size, long value) {}
        };
    }

    private static Path compileC() throws IOException, InterruptedException {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", ".."));
        Path source = root.resolve("bench/kvm_exit_cost.c");
        Path out = root.resolve("target/kvm_exit_cost");
        Files.createDirectories(out.getParent());
        Process p = new ProcessBuilder("gcc", "-O2", "-o", out.toString(), source.toString()).inheritIO().start();
        if (p.waitFor() != 0) throw new IllegalStateException("gcc failed on " + source);
        return out;
    }

    private static void runC(Path c, Path guest, int count) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(c.toString(), guest.toString(), Integer.toString(count)).inheritIO().start();
        if (p.waitFor() != 0) throw new IllegalStateException(c + " failed");
    }
}
