package org.jvmm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import jdk.jfr.consumer.RecordingFile;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.platform.Platform;
import org.jvmm.core.platform.Platforms;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The command run in-process: exit status and what it prints, for each way a run can end. */
@Timeout(30)
class JvmmTest {

    record Result(int status, String out, String err) {
        /** Standard error as lines. */
        List<String> errLines() { return err.lines().toList(); }
    }

    @TempDir Path dir;
    Path kernel;
    final String host = Platforms.hostArch();
    final Function<String, Platform> fake = arch -> new FakePlatform(arch);

    @BeforeEach
    void kernelFile() throws IOException {
        kernel = Files.write(dir.resolve("bzImage"), new byte[] {1, 2, 3});
    }

    private Result run(InputStream in, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Jvmm.execute(args, in, out, new PrintStream(err, true, StandardCharsets.UTF_8), false, fake);
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Result run(String... args) {
        return run(InputStream.nullInputStream(), args);
    }

    /** A configuration error is exit status 2 and exactly one line on standard error. */
    private void assertConfigurationError(String expectedLine, Result r) {
        assertEquals(2, r.status(), r.toString());
        assertEquals(List.of(expectedLine), r.errLines());
        assertEquals("", r.out());
    }

    @Test
    void helpListsEveryOptionAndTheDefaultCommandLine() {
        Result r = run("--help");
        assertEquals(0, r.status());
        for (String option : List.of("--arch", "--kernel", "--initrd", "--cmdline", "--mem", "--cpus",
                "--trace-exits", "--stats", "--jfr", "--dump-dtb", "guest-kit", "Ctrl-A x")) {
            assertTrue(r.out().contains(option), option + " missing from:\n" + r.out());
        }
        assertTrue(r.out().replaceAll("\\s+", " ").contains("(console=ttyS0 on x86_64, console=ttyAMA0 on arm64)"), r.out());
        assertTrue(r.out().replaceAll("\\s+", " ").contains("default: the host's, " + host), r.out());
        assertEquals("", r.err());
    }

    @Test
    void guestPowerOffIsStatusZeroWithTheConsoleOutput() {
        Result r = run("--kernel", kernel.toString(), "--cmdline", "hello");
        assertEquals(new Result(0, "hi", ""), r);
    }

    @Test
    void aGuestFailureIsStatusOneWithTheReasonAndTheRegisterDump() {
        Result r = run("--kernel", kernel.toString(), "--cmdline", "crash");
        assertEquals(1, r.status());
        assertEquals(List.of("jvmm: KVM internal error 1", "rip=0xfff0", "rsp=0"), r.errLines());
    }

    @Test
    void ctrlAXEndsTheVmWithStatusZero() {
        byte[] typed = {'a', 1, 1, 'b', 1, 'x', 'c'};
        // One byte per read, as a terminal in raw mode delivers keys: the guest echoes each before the next.
        InputStream keys = new ByteArrayInputStream(typed) {
            @Override public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 1));
            }
        };
        Result r = run(keys, "--kernel", kernel.toString(), "--cmdline", "echo");
        assertEquals(0, r.status());
        assertEquals("a\u0001b", r.out(), "the guest gets what was typed before the escape, Ctrl-A Ctrl-A as one Ctrl-A");
        assertEquals(List.of("jvmm: terminated by Ctrl-A x"), r.errLines());
    }

    @Test
    void traceAndStatsGoToStandardError() {
        Result r = run("--kernel", kernel.toString(), "--cmdline", "hello", "--trace-exits", "--stats");
        assertEquals(0, r.status());
        assertEquals("hi", r.out());
        List<String> err = r.errLines();
        assertEquals("vcpu0 io-out  port=0x3f8 size=1 value=0x68 -> uart@0x3f8", err.get(0));
        assertEquals("vcpu0 io-out  port=0x3f8 size=1 value=0x69 -> uart@0x3f8", err.get(1));
        assertEquals("vcpu0 io-in   port=0x70 size=1 value=0xff -> unclaimed", err.get(2));
        assertEquals("vcpu0 system-event kind=power-off -> platform", err.get(3));
        assertTrue(err.get(4).startsWith("exit reason"), err.get(4));
        assertTrue(err.stream().anyMatch(l -> l.matches("io-out +2 .*")), r.err());
        assertTrue(err.contains("bus pio: 1 unclaimed, 0 straddling"), r.err());
    }

    @Test
    void jfrOptionWritesARecordingWithTheExits() throws IOException {
        Path recording = dir.resolve("run.jfr");
        Result r = run("--kernel", kernel.toString(), "--cmdline", "hello", "--jfr", recording.toString());
        assertEquals(0, r.status(), r.toString());
        long exits = RecordingFile.readAllEvents(recording).stream()
                .filter(e -> e.getEventType().getName().equals("org.jvmm.VcpuExit")).count();
        assertEquals(4, exits);
    }

    @Test
    void missingKernelOption() {
        assertConfigurationError("jvmm: No kernel given: pass --kernel FILE.", run());
    }

    @Test
    void kernelFileThatDoesNotExist() {
        Path missing = dir.resolve("nope");
        assertConfigurationError("jvmm: The kernel file '" + missing
                + "' does not exist: check the path given to --kernel.", run("--kernel", missing.toString()));
    }

    @Test
    void kernelThatIsNotAReadableFile() {
        assertConfigurationError("jvmm: The kernel file '" + dir
                + "' cannot be read: give --kernel a readable regular file.", run("--kernel", dir.toString()));
    }

    @Test
    void initrdThatDoesNotExist() {
        Path missing = dir.resolve("initrd.img");
        assertConfigurationError("jvmm: The initrd file '" + missing + "' does not exist: check the path given to --initrd.",
                run("--kernel", kernel.toString(), "--initrd", missing.toString()));
    }

    @Test
    void invalidMemorySize() {
        assertConfigurationError("jvmm: Invalid memory size '12X': give a positive size such as 512M, 2G or a number of bytes.",
                run("--kernel", kernel.toString(), "--mem", "12X"));
    }

    @Test
    void invalidCpuCount() {
        assertConfigurationError("jvmm: Invalid --cpus 0: give a number from 1 to 256.",
                run("--kernel", kernel.toString(), "--cpus", "0"));
    }

    @Test
    void anArchitectureThisHostCannotRunIsRefusedByItsPlatform() {
        // The real platforms, not the fake: the sentence is the platform's own.
        org.junit.jupiter.api.Assumptions.assumeTrue(host.equals("x86_64"), "checked from an x86-64 host");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Jvmm.execute(new String[] {"--arch", "arm64", "--kernel", kernel.toString()},
                InputStream.nullInputStream(), new ByteArrayOutputStream(), new PrintStream(err, true, StandardCharsets.UTF_8),
                false, Platforms::forArch);
        assertConfigurationError("jvmm: arm64 guests need an arm64 host with KVM or a Mac with Apple silicon; this host is x86_64.",
                new Result(status, "", err.toString(StandardCharsets.UTF_8)));
    }

    @Test
    void anUnknownArchitecture() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Jvmm.execute(new String[] {"--arch", "riscv64", "--kernel", kernel.toString()},
                InputStream.nullInputStream(), new ByteArrayOutputStream(), new PrintStream(err, true, StandardCharsets.UTF_8),
                false, Platforms::forArch);
        assertEquals(2, status);
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("jvmm: Unknown architecture 'riscv64'"), err.toString());
    }

    @Test
    void dumpDtbWritesTheArm64DeviceTreeWithoutBooting() throws IOException {
        Path dtb = dir.resolve("jvmm.dtb");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Jvmm.execute(new String[] {"--arch", "arm64", "--kernel", kernel.toString(), "--cpus", "2",
                        "--cmdline", "earlycon", "--dump-dtb", dtb.toString()},
                InputStream.nullInputStream(), new ByteArrayOutputStream(), new PrintStream(err, true, StandardCharsets.UTF_8),
                false, Platforms::forArch);
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        byte[] bytes = Files.readAllBytes(dtb);
        // The FDT header's magic, big-endian, and its own total size (devicetree specification 5.2).
        assertEquals(0xd00dfeedL, java.nio.ByteBuffer.wrap(bytes).getInt(0) & 0xffffffffL);
        assertEquals(bytes.length, java.nio.ByteBuffer.wrap(bytes).getInt(4));
        assertTrue(new String(bytes, StandardCharsets.ISO_8859_1).contains("earlycon console=ttyAMA0"));
    }

    @Test
    void dumpDtbIsOnlyForArm64() {
        assertConfigurationError("jvmm: --dump-dtb is for --arch arm64: x86_64 guests are described by ACPI tables, not a device tree.",
                run("--arch", "x86_64", "--kernel", kernel.toString(), "--dump-dtb", dir.resolve("x.dtb").toString()));
    }

    @Test
    void aPlatformConfigurationErrorIsOneLine() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Jvmm.execute(new String[] {"--kernel", kernel.toString()}, InputStream.nullInputStream(),
                new ByteArrayOutputStream(), new PrintStream(err, true, StandardCharsets.UTF_8), false,
                arch -> { throw new ConfigurationException("No /dev/kvm: load the kvm module or run on a host with KVM."); });
        assertEquals(2, status);
        assertEquals("jvmm: No /dev/kvm: load the kvm module or run on a host with KVM.\n", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aVmmFailureIsStatusOneWithItsMessage() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Jvmm.execute(new String[] {"--kernel", kernel.toString()}, InputStream.nullInputStream(),
                new ByteArrayOutputStream(), new PrintStream(err, true, StandardCharsets.UTF_8), false,
                arch -> { throw new IllegalStateException("KVM_CREATE_VM failed: ENOMEM"); });
        assertEquals(1, status);
        assertEquals("jvmm: failed: KVM_CREATE_VM failed: ENOMEM\n", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void unknownOptionIsAUsageError() {
        assertConfigurationError("jvmm: Unknown option: '--frobnicate'; run jvmm --help for the options.",
                run("--frobnicate"));
    }

    @Test
    void optionWithoutItsValueIsAUsageError() {
        Result r = run("--kernel");
        assertEquals(2, r.status());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("jvmm: Missing required parameter for option '--kernel'"), r.err());
    }

    @Test
    void nonNumericCpusIsAUsageError() {
        Result r = run("--kernel", kernel.toString(), "--cpus", "two");
        assertEquals(2, r.status());
        assertEquals(1, r.errLines().size(), r.err());
    }

    @Test
    void guestKitHelp() {
        Result r = run("guest-kit", "--help");
        assertEquals(0, r.status());
        assertTrue(r.out().contains("--arch") && r.out().contains("--deb"), r.out());
    }

    @Test
    void guestKitWithAnUnknownArchitectureIsOneLine() {
        Result r = run("guest-kit", "--arch", "sparc", "--out", dir.resolve("kit").toString());
        assertEquals(2, r.status(), r.toString());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("jvmm: ") && r.err().contains("sparc"), r.err());
    }
}
