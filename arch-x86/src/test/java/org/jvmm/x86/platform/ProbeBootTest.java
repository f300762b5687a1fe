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
import org.junit.jupiter.api.Test;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;

/**
 * Boots the probe guest through exactly the production path — {@code Platforms.forArch("x86_64")}, the
 * loader, the KVM backend, {@link Machine} — with an initrd and a command line, and reads its verdict
 * from COM1: the guest itself checks the zero page, command line, e820 map, initrd, long-mode state and
 * every ACPI checksum, then resets through the i8042, which must end the machine with status 0.
 */
class ProbeBootTest {

    static final long MEMORY = 64L << 20;
    static final int CPUS = 2;
    static final int INITRD_SIZE = 12288 + 123; // not a page multiple: the size must be exact

    @Test
    void probeGuestFindsEverythingTheBootProtocolPromises() throws Exception {
        ProbeGuest.require(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")), "/dev/kvm");
        Path work = Path.of("target", "probe").toAbsolutePath();
        Files.createDirectories(work);

        byte[] initrd = new byte[INITRD_SIZE];
        new Random(8).nextBytes(initrd);
        Path initrdFile = work.resolve("initrd.bin");
        Files.write(initrdFile, initrd);
        String user = "probe.mem=" + MEMORY + " probe.cpus=" + CPUS + " probe.initrd=" + INITRD_SIZE + ",0x"
                + Integer.toHexString(fnv1a(initrd));
        // No console= in the user's line: the platform appends console=ttyS0, and the guest must see exactly that.
        String expected = user + " console=ttyS0";
        Path kernel = ProbeGuest.build(work, expected);

        ByteArrayOutputStream console = new ByteArrayOutputStream();
        MachineExit exit;
        try (Machine m = Machine.builder(Platforms.forArch("x86_64")).kernel(kernel).initrd(initrdFile)
                .cmdline(user).memory(MEMORY).cpus(CPUS).console(InputStream.nullInputStream(), console).build()) {
            ExecutorService guard = Executors.newSingleThreadExecutor();
            Future<MachineExit> run = guard.submit(m::run);
            try {
                exit = run.get(120, TimeUnit.SECONDS); // a hang guard, not a timing assertion
            } catch (TimeoutException e) {
                m.stop("hang guard");
                throw new AssertionError("the probe did not finish; console so far:\n" + text(console));
            } finally {
                guard.shutdownNow();
            }
        }
        String out = text(console);
        assertTrue(out.contains("PROBE: PASS\n"), out);
        assertFalse(out.contains("PROBE: FAIL"), out);
        // Every check the probe's source makes reported "ok": none skipped, none lost on the way.
        long checks = Pattern.compile("\\bcheck\\(\"").matcher(Files.readString(ProbeGuest.sources().resolve("probe.c"))).results().count();
        assertTrue(checks >= 25, "the probe source should make its checks: " + checks);
        assertEquals(checks, out.lines().filter(l -> l.startsWith("PROBE: ok")).count(), out);
        assertEquals(0, exit.exitCode(), exit + "\n" + out);
        assertTrue(exit.reason().contains("reset"), exit.reason());
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
