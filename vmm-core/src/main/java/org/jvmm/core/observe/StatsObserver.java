package org.jvmm.core.observe;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.VcpuExit;

/**
 * Counts exits by reason and measures how long the VMM took to handle them, then prints a table when
 * the machine stops.
 *
 * <pre>
 * exit reason         count    p50 us    p90 us    p99 us    max us
 * io-out                812       1.2       2.9      14.1      88.3
 * mmio-read              40       3.1       5.0       9.7       9.7
 * bus mmio: 0 unclaimed, 0 straddling
 * </pre>
 *
 * <p>Times are in microseconds, printed as "us" so that any terminal encoding shows them. Latency is
 * the handling time the run loop measures (from {@code run()} returning to the exit being answered),
 * not the hypervisor's round trip. vCPUs record concurrently: each reason has an
 * HdrHistogram {@link Recorder}, whose recording path is wait-free for any number of writers; the
 * reading side ({@link #rows()}) folds what was recorded into a cumulative histogram under a lock.
 * Values are kept to three significant digits.
 */
public final class StatsObserver implements ExitObserver {

    /** One line of the table: a reason that occurred, its count and latency percentiles in microseconds. */
    public record Row(ExitReason reason, long count, double p50Micros, double p90Micros, double p99Micros,
                      double maxMicros) {}

    private static final ExitReason[] REASONS = ExitReason.values();

    private final PrintStream out;
    private final Recorder[] recorders = new Recorder[REASONS.length];
    private final Histogram[] totals = new Histogram[REASONS.length];
    private volatile List<Bus> buses = List.of();

    /** Collects statistics and prints them to {@code out} when the machine stops. */
    public StatsObserver(PrintStream out) {
        this.out = out;
        for (int i = 0; i < REASONS.length; i++) {
            recorders[i] = new Recorder(3);
            totals[i] = new Histogram(3);
        }
    }

    /**
     * Adds the unclaimed and straddling access counts of {@code watched} to the table. Buses exist
     * only once the machine is built, after its observers were chosen, hence a setter.
     */
    public StatsObserver buses(Bus... watched) {
        this.buses = List.of(watched);
        return this;
    }

    @Override
    public void onExit(int vcpu, VcpuExit exit, String device, long value, long handlingNanos) {
        recorders[ExitReason.of(exit).ordinal()].recordValue(Math.max(0, handlingNanos));
    }

    @Override
    public void onMachineStopped() {
        out.print(table());
        out.flush();
    }

    /** The reasons seen so far, in {@link ExitReason} order, with their counts and percentiles. */
    public synchronized List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < REASONS.length; i++) {
            Histogram h = totals[i];
            h.add(recorders[i].getIntervalHistogram());
            if (h.getTotalCount() == 0) continue;
            rows.add(new Row(REASONS[i], h.getTotalCount(), micros(h.getValueAtPercentile(50)),
                    micros(h.getValueAtPercentile(90)), micros(h.getValueAtPercentile(99)), micros(h.getMaxValue())));
        }
        return rows;
    }

    /** The table {@link #onMachineStopped()} prints, one line per reason plus one per watched bus. */
    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%-14s %10s %9s %9s %9s %9s%n", "exit reason", "count", "p50 us", "p90 us", "p99 us", "max us"));
        for (Row r : rows()) {
            b.append(String.format("%-14s %10d %9.1f %9.1f %9.1f %9.1f%n", r.reason().label(), r.count(),
                    r.p50Micros(), r.p90Micros(), r.p99Micros(), r.maxMicros()));
        }
        for (Bus bus : buses) {
            b.append(String.format("bus %s: %d unclaimed, %d straddling%n", bus.name(), bus.unclaimedAccesses(),
                    bus.straddlingAccesses()));
        }
        return b.toString();
    }

    private static double micros(long nanos) {
        return nanos / 1000.0;
    }
}
