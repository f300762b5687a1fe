package org.jvmm.core.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.VcpuExit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class StatsObserverTest {

    private final StatsObserver stats = new StatsObserver(new PrintStream(java.io.OutputStream.nullOutputStream()));


    @Test
    @Timeout(30)
    void countsFromConcurrentVcpusAddUp() throws Exception {
        int threads = 4, perThread = 25_000;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> vcpus = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            vcpus.add(Thread.ofPlatform().start(() -> {
                try { go.await(); } catch (InterruptedException e) { return; }
                for (int i = 0; i < perThread; i++) {
                    stats.onExit(id, new VcpuExit.IoOut(0x80, 1, i), "post", i, 1_000);
                    if (i % 5 == 0) stats.onExit(id, new VcpuExit.MmioRead(0x1000, 4), "unclaimed", 0, 2_000);
                }
            }));
        }
        go.countDown();
        for (Thread t : vcpus) t.join();
        List<StatsObserver.Row> rows = stats.rows();
        assertEquals(2, rows.size(), rows.toString());
        assertEquals(ExitReason.IO_OUT, rows.get(0).reason());
        assertEquals((long) threads * perThread, rows.get(0).count());
        assertEquals(ExitReason.MMIO_READ, rows.get(1).reason());
        assertEquals((long) threads * perThread / 5, rows.get(1).count());
    }

    @Test
    void percentilesOfAKnownDistribution() {
        // 1 µs .. 1000 µs, one each: p50 = 500 µs, p90 = 900 µs, p99 = 990 µs, max = 1000 µs.
        for (int us = 1; us <= 1000; us++) stats.onExit(0, new VcpuExit.Halt(), "platform", 0, us * 1000L);
        StatsObserver.Row row = stats.rows().getFirst();
        assertEquals(1000, row.count());
        // HdrHistogram with 3 significant digits: within 0.1 %.
        assertEquals(500, row.p50Micros(), 0.5);
        assertEquals(900, row.p90Micros(), 0.9);
        assertEquals(990, row.p99Micros(), 1.0);
        assertEquals(1000, row.maxMicros(), 1.0);
    }

    @Test
    void rowsAccumulateAcrossReads() {
        stats.onExit(0, new VcpuExit.Halt(), "platform", 0, 5);
        assertEquals(1, stats.rows().getFirst().count());
        stats.onExit(0, new VcpuExit.Halt(), "platform", 0, 5);
        assertEquals(2, stats.rows().getFirst().count());
    }

    @Test
    void tablePrintedOnStopNamesReasonsAndBusCounters() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Bus pio = new Bus("pio");
        pio.read(0x70, 1); // nothing registered: unclaimed
        StatsObserver s = new StatsObserver(new PrintStream(bytes, true, StandardCharsets.UTF_8)).buses(pio);
        s.onExit(0, new VcpuExit.IoIn(0x70, 1), "unclaimed", 0xff, 3_000);
        s.onMachineStopped();
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\\R");
        assertEquals(3, lines.length, String.join("\n", lines));
        assertTrue(lines[0].matches("exit reason +count +p50 us +p90 us +p99 us +max us"), lines[0]);
        assertTrue(lines[1].matches("io-in +1 +3\\.0 +3\\.0 +3\\.0 +3\\.0"), lines[1]);
        assertEquals("bus pio: 1 unclaimed, 0 straddling", lines[2]);
    }
}
