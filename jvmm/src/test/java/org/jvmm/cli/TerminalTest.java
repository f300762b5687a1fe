package org.jvmm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real command on a real terminal: {@code script} gives it a pseudo-terminal, KVM runs the echo guest
 * ({@code src/test/guest/echo.c}), and the test types into the terminal as a user would. It checks that
 * the terminal is raw while the guest runs (what is typed is not echoed by the terminal itself: only the
 * guest's upper-case echo appears), that Ctrl-A x ends the VM with status 0 and its message, that SIGTERM
 * stops the machine so its statistics are still printed, and that the terminal's settings afterwards are
 * exactly those before.
 *
 * <p>Needs {@code /dev/kvm}, {@code script} (util-linux) and nasm, gcc, ld and objcopy for the guest; skips
 * without them unless {@code jvmm.requireAll} is set. The timeout is a hang guard; nothing is timed.
 */
@Timeout(60)
class TerminalTest {

    private static final List<String> TOOLS = List.of("script", "nasm", "gcc", "ld", "objcopy");

    @TempDir Path dir;

    @Test
    void rawWhileTheGuestRunsCtrlAXEndsItAndTheTerminalIsRestored() throws Exception {
        TestTools.require(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")), "/dev/kvm");
        for (String tool : TOOLS) TestTools.require(TestTools.onPath(tool), tool);
        Path guest = buildEchoGuest();

        Path before = dir.resolve("stty-before"), after = dir.resolve("stty-after");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = "stty -g > " + quote(before) + "; "
                + quote(java) + " --enable-native-access=ALL-UNNAMED -cp " + quote(System.getProperty("java.class.path"))
                + " org.jvmm.cli.Jvmm --kernel " + quote(guest) + " --mem 64M; echo \"status=$?\"; "
                + "stty -g > " + quote(after);
        Process p = new ProcessBuilder("script", "-qec", command, "/dev/null").redirectErrorStream(true).start();
        Screen screen = new Screen(p.getInputStream());
        try (OutputStream keyboard = p.getOutputStream()) {
            screen.await("ECHO-GUEST-UP");
            // The carriage return would end a line in canonical mode too, so a terminal left cooked shows
            // up as its own echo of "hello" below rather than as a hang.
            keyboard.write("hello\r".getBytes(StandardCharsets.US_ASCII));
            keyboard.flush();
            screen.await("HELLO");
            keyboard.write(new byte[] {ConsoleEscape.CTRL_A, 'x'});
            keyboard.flush();
            screen.await("status=");
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "script did not end");
        } finally {
            p.destroyForcibly();
        }
        String text = screen.text();
        assertFalse(text.contains("hello"), "the terminal echoed the typing itself, so it was not raw:\n" + text);
        assertTrue(text.contains("jvmm: terminated by Ctrl-A x"), text);
        assertTrue(text.contains("status=0"), text);
        assertGuestLineEndsAsSent(text);
        assertEquals(Files.readString(before), Files.readString(after), "terminal settings not restored");
    }

    /**
     * Standard input a pipe (a FIFO the test writes into), standard output the terminal: jvmm leaves the
     * terminal cooked, and the guest's line ends must still reach it as the guest sent them, not with the
     * terminal's own CR added (which readers of the output showed as a blank line after every line).
     */
    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // opening a FIFO nobody opens would block
    void withInputFromAPipeTheTerminalShowsTheGuestsLineEndsAsSent() throws Exception {
        TestTools.require(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")), "/dev/kvm");
        for (String tool : TOOLS) TestTools.require(TestTools.onPath(tool), tool);
        TestTools.require(TestTools.onPath("mkfifo"), "mkfifo");
        Path guest = buildEchoGuest();
        Path fifo = dir.resolve("stdin.fifo");
        TestTools.run(dir, "mkfifo", fifo.toString());

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = quote(java) + " --enable-native-access=ALL-UNNAMED -cp " + quote(System.getProperty("java.class.path"))
                + " org.jvmm.cli.Jvmm --kernel " + quote(guest) + " --mem 64M < " + quote(fifo) + "; echo \"status=$?\"";
        Process p = new ProcessBuilder("script", "-qec", command, "/dev/null").redirectErrorStream(true).start();
        Screen screen = new Screen(p.getInputStream());
        // Opening the FIFO waits for the shell to open its end, so this is jvmm's standard input from here on.
        try (OutputStream pipe = Files.newOutputStream(fifo)) {
            screen.await("ECHO-GUEST-UP");
            pipe.write("hello\r".getBytes(StandardCharsets.US_ASCII));
            pipe.flush();
            screen.await("HELLO");
            pipe.write(new byte[] {ConsoleEscape.CTRL_A, 'x'});
            pipe.flush();
            screen.await("status=");
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "script did not end");
        } finally {
            p.destroyForcibly();
        }
        String text = screen.text();
        assertTrue(text.contains("jvmm: terminated by Ctrl-A x"), text);
        assertTrue(text.contains("status=0"), text);
        assertGuestLineEndsAsSent(text);
    }

    /** The echo guest sends "ECHO-GUEST-UP\r\n"; nothing on the screen may carry an extra CR. */
    private static void assertGuestLineEndsAsSent(String text) {
        String shown = "\n" + text.replace("\r", "\\r").replace("\n", "\\n\n");
        assertTrue(text.contains("ECHO-GUEST-UP\r\n"), "the guest's line is not on the screen as sent:" + shown);
        assertFalse(text.contains("\r\r\n"), "a line end with the terminal's CR added to the guest's:" + shown);
    }

    @Test
    void sigtermStopsTheMachineWithItsStatisticsAndRestoresTheTerminal() throws Exception {
        TestTools.require(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")), "/dev/kvm");
        for (String tool : TOOLS) TestTools.require(TestTools.onPath(tool), tool);
        Path guest = buildEchoGuest();

        Path before = dir.resolve("stty-before"), after = dir.resolve("stty-after"), pid = dir.resolve("pid");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // sh writes its own pid and then becomes the JVM, so the test signals exactly the process it started.
        String jvmm = "echo $$ > " + quote(pid) + "; exec " + quote(java) + " --enable-native-access=ALL-UNNAMED -cp "
                + quote(System.getProperty("java.class.path")) + " org.jvmm.cli.Jvmm --kernel " + quote(guest)
                + " --mem 64M --stats";
        String command = "stty -g > " + quote(before) + "; sh -c " + quote(jvmm) + "; echo \"status=$?\"; "
                + "stty -g > " + quote(after);
        Process p = new ProcessBuilder("script", "-qec", command, "/dev/null").redirectErrorStream(true).start();
        Screen screen = new Screen(p.getInputStream());
        try (OutputStream keyboard = p.getOutputStream()) {
            screen.await("ECHO-GUEST-UP");
            long jvm = Long.parseLong(Files.readString(pid).strip());
            ProcessHandle.of(jvm).orElseThrow().destroy(); // SIGTERM
            screen.await("status=");
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "script did not end");
        } finally {
            p.destroyForcibly();
        }
        String text = screen.text();
        assertTrue(text.contains("exit reason") && text.contains("bus pio:"), "no statistics table:\n" + text);
        assertTrue(text.contains("status=143"), "128 + SIGTERM expected:\n" + text);
        assertEquals(Files.readString(before), Files.readString(after), "terminal settings not restored");
    }

    /** The pseudo-terminal's output as it arrives. */
    private static final class Screen {
        private final ByteArrayOutputStream seen = new ByteArrayOutputStream();

        Screen(InputStream in) {
            Thread.ofPlatform().daemon().start(() -> {
                byte[] buf = new byte[4096];
                try {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        synchronized (this) {
                            seen.write(buf, 0, n);
                            notifyAll();
                        }
                    }
                } catch (IOException ended) {
                    // the process is gone
                }
            });
        }

        synchronized String text() {
            return seen.toString(StandardCharsets.UTF_8);
        }

        /** Waits until {@code marker} has appeared; the class's timeout bounds the wait. */
        synchronized void await(String marker) throws InterruptedException {
            while (!text().contains(marker)) wait(1000);
        }
    }

    private Path buildEchoGuest() throws IOException, InterruptedException {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", ".."));
        Path probe = root.resolve("arch-x86/src/test/probe").toAbsolutePath();
        Path source = root.resolve("jvmm/src/test/guest/echo.c").toAbsolutePath();
        TestTools.run(dir, "nasm", "-f", "elf64", "-o", "header.o", probe.resolve("header.asm").toString());
        TestTools.run(dir, "gcc", "-c", "-ffreestanding", "-fno-builtin", "-mgeneral-regs-only", "-mno-red-zone", "-fno-pic",
                "-fno-pie", "-O2", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
                "-Wall", "-Wno-unused-parameter", "-o", "echo.o", source.toString());
        TestTools.run(dir, "ld", "-nostdlib", "-static", "--no-warn-rwx-segments", "-T", probe.resolve("probe.ld").toString(),
                "-o", "echo.elf", "header.o", "echo.o");
        TestTools.run(dir, "objcopy", "-O", "binary", "echo.elf", "echo.bzImage");
        return dir.resolve("echo.bzImage");
    }

    private static String quote(Object s) {
        return "'" + s.toString().replace("'", "'\\''") + "'";
    }

}
