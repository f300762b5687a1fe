package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.HelperCommand;
import org.jvmm.sandbox.HelperProcess;
import org.jvmm.sandbox.JailedLaunch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real blk {@code Helper} launched as {@code --sandbox=process} launches it ({@link JailedLaunch}
 * around {@link HelperProcess}): in bubblewrap, handed its disk descriptor over the socket, seccomp on
 * before it serves; it serves a read and a write while in its own namespaces with seccomp mode 2.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class JailedHelperTest {

    @TempDir static Path jarDir;
    @TempDir Path dir;
    private static List<Path> jars;

    @BeforeAll
    static void jars() throws Exception {
        JailFixture.bwrap();
        jars = JailFixture.classPathAsJars(jarDir);
    }

    /**
     * Surefire runs from class directories; a jailed helper must run from jars (see {@link JailFixture}),
     * so the helper's class path is swapped for the jarred one and those jars are bound in too.
     */
    private static Function<HelperCommand, List<String>> fromJars(Function<HelperCommand, List<String>> jailed) {
        return command -> {
            List<String> c = new ArrayList<>(jailed.apply(command));
            c.set(c.lastIndexOf("-cp") + 1, String.join(File.pathSeparator, jars.stream().map(Path::toString).toList()));
            List<String> binds = new ArrayList<>();
            for (Path jar : jars) binds.addAll(List.of("--ro-bind", jar.toString(), jar.toString()));
            c.addAll(c.indexOf("--proc"), binds);   // with the other binds, before the root turns read-only
            return c;
        };
    }

    @Test
    void theJailedBlkHelperServesUnderSeccompInItsOwnNamespaces() throws Exception {
        serveJailed(SeccompMode.ENFORCE);
    }

    /**
     * {@code --sandbox-log} through the real launch: the helper connects to jvmm's log socket, hands over
     * its listener and serves; the blk policy suffices, so nothing is logged, and the logger ends with it.
     */
    @Test
    void underSandboxLogTheHelperHandsJvmmItsListenerAndServes() throws Exception {
        serveJailed(SeccompMode.LOG);
    }

    /**
     * A jailed helper that dies of SIGSYS (here sent by the test; the kernel's seccomp kill looks the same
     * to jvmm) is reported as killed by its policy, with the option that names the call.
     */
    @Test
    void aHelperKilledBySigsysIsReportedAsKilledByItsPolicy() throws Exception {
        Path image = Files.write(dir.resolve("disk.img"), new byte[4096]);
        HelperProcess helper = HelperProcess.start("the blk helper", "blk", List.of(),
                fromJars(JailedLaunch.commandLine(SeccompMode.ENFORCE, line -> {})));
        int fd = LinuxLibc.open(image.toString(), LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
        try {
            int socket = helper.connect(fd);
            long pid = JailFixture.javaIn(helper.process()).pid();
            assertEquals(0, new ProcessBuilder("kill", "-SYS", Long.toString(pid)).start().waitFor());
            assertTrue(helper.process().waitFor(30, TimeUnit.SECONDS));
            String fate = helper.fate();
            assertTrue(fate.startsWith("the blk helper (pid " + helper.pid() + ") was killed by its seccomp policy (SIGSYS)")
                    && fate.endsWith("run with --sandbox-log to see which"), fate);
            LinuxLibc.close(socket);
        } finally {
            LinuxLibc.close(fd);
            helper.close();
        }
    }

    /**
     * A helper killed right after launch, while bwrap may still be setting up its sandbox, leaves nothing
     * behind: killing bwrap alone there leaves its child (the sandbox's init, waiting for the user
     * namespace's uid map) blocked forever, holding jvmm's standard output (seen: a Maven build that never
     * ended). Each run checks for a process still naming the helper's socket.
     */
    @Test
    void killingAHelperAtOnceLeavesNothingOfItsJailBehind() throws Exception {
        for (int run = 0; run < 5; run++) {
            java.util.concurrent.atomic.AtomicReference<String> socket = new java.util.concurrent.atomic.AtomicReference<>();
            Function<HelperCommand, List<String>> jailed = fromJars(JailedLaunch.commandLine(SeccompMode.ENFORCE, line -> {}));
            HelperProcess helper = HelperProcess.start("the blk helper", "blk", List.of(), command -> {
                socket.set(command.socketPath().toString());
                return jailed.apply(command);
            });
            helper.kill();
            assertTrue(helper.process().waitFor(30, TimeUnit.SECONDS));
            helper.close();
            List<String> left = processesNaming(socket.get());
            assertEquals(List.of(), left, "processes of the killed helper's jail still running (run " + run + ")");
        }
    }

    /** The pids whose command line has {@code word} as one argument, read from /proc. */
    private static List<String> processesNaming(String word) throws Exception {
        List<String> pids = new ArrayList<>();
        try (var entries = Files.list(Path.of("/proc"))) {
            for (Path p : entries.filter(e -> e.getFileName().toString().matches("[0-9]+")).toList()) {
                byte[] cmdline;
                try {
                    cmdline = Files.readAllBytes(p.resolve("cmdline"));
                } catch (java.io.IOException gone) {
                    continue;
                }
                if (Arrays.asList(new String(cmdline, java.nio.charset.StandardCharsets.UTF_8).split("\0")).contains(word)) {
                    pids.add(p.getFileName().toString());
                }
            }
        }
        return pids;
    }

    private void serveJailed(SeccompMode mode) throws Exception {
        byte[] disk = new byte[64 * 1024];
        new Random(9).nextBytes(disk);
        Path image = dir.resolve("disk.img");
        Files.write(image, disk);
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        HelperProcess helper = HelperProcess.start("the blk helper", "blk", List.of(),
                fromJars(JailedLaunch.commandLine(mode, log::add)));
        int fd = LinuxLibc.open(image.toString(), LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
        try {
            int socket = helper.connect(fd);
            try (BlkFrontend frontend = new BlkFrontend(socket)) {
                assertEquals(128, frontend.run(disk), "capacity in sectors of the disk behind the descriptor");
                long pid = JailFixture.javaIn(helper.process()).pid();
                List<String> status = Files.readAllLines(Path.of("/proc/" + pid + "/status"));
                assertTrue(status.contains("Seccomp:\t2"), "the serving helper is filtered: " + status);
                for (String ns : List.of("user", "pid", "mnt", "net", "ipc")) {
                    assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns", ns)),
                            Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns", ns)), ns + " namespace");
                }
            }
            assertTrue(helper.process().waitFor(30, TimeUnit.SECONDS), "the helper ends when jvmm disconnects");
            assertEquals(0, helper.process().exitValue(), "a clean disconnect, no SIGSYS (159): " + helper.fate());
            assertArrayEquals(BlkFrontend.pattern(), Arrays.copyOfRange(Files.readAllBytes(image), 5 * 512, 6 * 512));
            assertEquals(List.of(), log, "no call outside the blk policy");
        } finally {
            LinuxLibc.close(fd);
            helper.close();
        }
    }
}
