package org.jvmm.arm64.kvm;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jvmm.arm64.Arm64Platform;
import org.jvmm.core.bus.BusDevice;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;

/**
 * Runs the arm64 conformance guests ({@code arch-arm64/src/test/guests}) through the KVM arm64 backend and prints
 * every access they make to the probe, one line each, for a test outside the machine to check: this runs where
 * KVM arm64 exists — the arm64 nested rig's L1 ({@code run-rig --payload conformance}), which has no JUnit — and
 * {@code NestedArm64RigTest} holds the expectations. Lines:
 * <pre>
 *   CONFORMANCE guest write|read OFFSET SIZE VALUE     (hex)
 *   CONFORMANCE guest exit CODE REASON
 * </pre>
 * Arguments: the directory of guest images ({@code NAME.img}), then guest names; {@code smp} gets two vCPUs.
 */
public final class KvmArm64Conformance {

    private KvmArm64Conformance() {}

    /** The probe of the guests' image.inc, outside every window of Arm64Layout. */
    static final long PROBE = 0x0b00_0000L;
    /** What probe reads answer, cut to the access size (the same pattern the HVF conformance test uses). */
    static final long PATTERN = 0xf1e2d3c4b5a69788L;

    /** Prints each access as it happens (the vCPU threads call it; println is synchronised). */
    private record Printer(String guest) implements BusDevice {
        @Override public String name() { return "probe"; }

        @Override public long read(long offset, int size) {
            long v = size < 8 ? PATTERN & ((1L << (8 * size)) - 1) : PATTERN;
            System.out.println(line("read", offset, size, v));
            return v;
        }

        @Override public void write(long offset, int size, long value) {
            System.out.println(line("write", offset, size, value));
        }

        private String line(String kind, long offset, int size, long value) {
            return String.format(Locale.ROOT, "CONFORMANCE %s %s %x %d %x", guest, kind, offset, size, value);
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        for (int i = 1; i < args.length; i++) {
            String guest = args[i];
            MachineExit exit = run(dir.resolve(guest + ".img"), guest.equals("smp") ? 2 : 1, new Printer(guest));
            System.out.println("CONFORMANCE " + guest + " exit " + exit.exitCode() + " " + exit.reason());
        }
    }

    private static MachineExit run(Path image, int cpus, BusDevice probe) throws Exception {
        try (Machine m = Machine.builder(new Arm64Platform()).kernel(image).memory(64L << 20).cpus(cpus)
                .extension((vm, mmio, closeLater) -> {
                    mmio.register(PROBE, 0x1000, probe);
                    return List.of();
                }).build()) {
            m.start();
            CompletableFuture<MachineExit> done = CompletableFuture.supplyAsync(() -> {
                try {
                    return m.awaitExit();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            try {
                return done.get(120, TimeUnit.SECONDS); // hang guard: L1 runs 12-16x slower than the host
            } catch (TimeoutException e) {
                m.stop("hang guard");
                return done.get(30, TimeUnit.SECONDS);
            }
        }
    }
}
