package org.jvmm.x86.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;

/**
 * Boots the probe guest through exactly the production path — {@code Platforms.forArch("x86_64")}, the
 * loader, the KVM backend, {@link Machine} — with an initrd and a command line, and reads its verdict
 * from COM1: the guest itself checks the zero page, command line, e820 map, initrd, long-mode state and
 * every ACPI checksum, then leaves through the i8042 reset, ACPI S5 or a triple fault, each of which must
 * end the machine with the documented status.
 */
class ProbeBootTest {

    static final long MiB = 1L << 20;

    @BeforeEach
    void needKvm() {
        ProbeGuest.require(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")), "/dev/kvm");
    }

    record Result(MachineExit exit, String console) {}

    /** Builds a probe for this configuration, boots it, and returns how the machine ended and what COM1 showed. */
    static Result boot(String name, long memory, int cpus, int initrdSize, String extra) throws Exception {
        Path work = Path.of("target", "probe", name).toAbsolutePath();
        Files.createDirectories(work);
        byte[] initrd = new byte[initrdSize];
        new Random(initrdSize).nextBytes(initrd);
        Path initrdFile = Files.write(work.resolve("initrd.bin"), initrd);
        String user = "probe.mem=" + memory + " probe.cpus=" + cpus + " probe.initrd=" + initrdSize + ",0x"
                + Integer.toHexString(fnv1a(initrd)) + extra;
        // No console= and no pci= in the user's line: the platform appends console=ttyS0 and pci=off, and the
        // guest must see exactly that.
        Path kernel = ProbeGuest.build(work, user + " console=ttyS0 pci=off");

        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).initrd(initrdFile)
                .cmdline(user).memory(memory).cpus(cpus).console(InputStream.nullInputStream(), console).build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            Future<MachineExit> run = guard.submit(m::run);
            try {
                return new Result(run.get(120, TimeUnit.SECONDS), text(console)); // a hang guard, not a timing assertion
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the probe did not finish; console so far:\n" + text(console));
            } finally {
                guard.shutdownNow();
            }
        }
    }

    static void assertAllChecksPassed(String out) throws Exception {
        assertTrue(out.contains("PROBE: PASS\n"), out);
        assertFalse(out.contains("PROBE: FAIL"), out);
        // Every check the probe's source makes reported "ok": none skipped, none lost on the way.
        long checks = Pattern.compile("\\bcheck\\(\"").matcher(Files.readString(ProbeGuest.sources().resolve("probe.c")))
                .results().count();
        assertTrue(checks >= 25, "the probe source should make its checks: " + checks);
        assertEquals(checks, out.lines().filter(l -> l.startsWith("PROBE: ok")).count(), out);
    }

    @Test
    void probeGuestFindsEverythingTheBootProtocolPromisesAndResetsThroughTheI8042() throws Exception {
        Result r = boot("reset", 64 * MiB, 2, 12288 + 123, "");
        assertAllChecksPassed(r.console());
        assertEquals(0, r.exit().exitCode(), r.exit() + "\n" + r.console());
        assertTrue(r.exit().reason().contains("reset"), r.exit().reason());
    }

    @Test
    void aGuestWithRamAboveTheHolePowersOffThroughAcpiS5() throws Exception {
        Result r = boot("s5-high-memory", 3584 * MiB, 3, 4096, " probe.exit=1");
        assertAllChecksPassed(r.console());
        assertEquals(0, r.exit().exitCode(), r.exit() + "\n" + r.console());
        assertTrue(r.exit().reason().contains("powered off"), r.exit().reason());
    }

    @Test
    void aTripleFaultEndsTheMachineWithStatusOneAndTheRegisters() throws Exception {
        Result r = boot("triple-fault", 64 * MiB, 1, 100, " probe.exit=2");
        assertAllChecksPassed(r.console());
        assertEquals(1, r.exit().exitCode(), r.exit() + "\n" + r.console());
        assertTrue(r.exit().reason().contains("shut down"), r.exit().reason());
        assertTrue(r.exit().reason().toLowerCase().contains("rip"), "a register dump: " + r.exit().reason());
    }

    @Test
    void anElfKernelWithAPvhNoteIsEnteredThroughThePvhBootAbi() throws Exception {
        Path work = Path.of("target", "probe", "pvh").toAbsolutePath();
        byte[] initrd = "PVH-INITRD-MAGIC".getBytes(StandardCharsets.US_ASCII);
        Path kernel = ProbeGuest.buildPvh(work, "pvh console=ttyS0 pci=off", initrd);
        Path initrdFile = Files.write(work.resolve("initrd-for-vm.bin"), initrd);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        MachineExit exit;
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).initrd(initrdFile)
                .cmdline("pvh").memory(64 * MiB).cpus(1).console(InputStream.nullInputStream(), console).build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            try {
                exit = guard.submit(m::run).get(120, TimeUnit.SECONDS); // hang guard
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the PVH probe did not finish; console so far:\n" + text(console));
            } finally {
                guard.shutdownNow();
            }
        }
        String out = text(console);
        assertTrue(out.contains("PVH: PASS\n"), out);
        assertFalse(out.contains("PVH: FAIL"), out);
        assertEquals(8, out.lines().filter(l -> l.startsWith("PVH: ok")).count(), out);
        assertEquals(0, exit.exitCode(), exit + "\n" + out);
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }

    /** FNV-1a, 32-bit: the hash the probe computes over the initrd it finds. */
    static int fnv1a(byte[] data) {
        int h = 0x811c9dc5;
        for (byte b : data) h = (h ^ (b & 0xff)) * 0x01000193;
        return h;
    }
}
