package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 4, item 8a: from inside a jailed helper (bubblewrap plus the blk seccomp policy, on this real
 * kernel), opening a file, executing a program and creating a socket fail and are reported; the helper
 * runs in its own user, pid, mount, network, IPC and UTS namespaces with seccomp mode 2, and
 * {@code --sandbox-log} names a denied call instead of killing. The helper here is {@link JailProbe},
 * which jails itself exactly as a device helper does and then misbehaves on purpose.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JailTest {

    @TempDir static Path jarDir;
    @TempDir Path dir;
    private static List<Path> jars;

    @BeforeAll
    static void jars() throws Exception {
        JailFixture.bwrap();
        jars = JailFixture.classPathAsJars(jarDir);
    }

    private record Run(int status, String out) {}

    private static Run probe(String mode, String attempt, List<Path> writable, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("blk", mode, attempt));
        args.addAll(List.of(extra));
        Process p = new ProcessBuilder(JailFixture.jailedJava(jars, writable, JailProbe.class.getName(), args))
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the probe ended");
        return new Run(p.exitValue(), out);
    }

    @Test
    void openingAFileFailsAndIsReported() throws Exception {
        Run r = probe("enforce", "open", List.of());
        assertTrue(r.out().contains("locked\n"), r.out());
        assertTrue(r.out().contains("open: denied AccessDeniedException"), "the JDK's release file is in the sandbox, yet cannot be opened:\n" + r.out());
        assertEquals(0, r.status(), "a failed open does not kill the helper:\n" + r.out());
    }

    @Test
    void executingAProgramKillsTheHelperWithSigsys() throws Exception {
        Run r = probe("enforce", "exec", List.of());
        assertTrue(r.out().contains("locked\n"), r.out());
        assertFalse(r.out().contains("exec:"), "the attempt never returned:\n" + r.out());
        assertEquals(128 + 31, r.status(), "bwrap reports its child killed by SIGSYS:\n" + r.out());
        assertTrue(Jail.describeExit(r.status()).contains("seccomp"), Jail.describeExit(r.status()));
    }

    @Test
    void creatingASocketKillsTheHelperWithSigsys() throws Exception {
        Run r = probe("enforce", "socket", List.of());
        assertTrue(r.out().contains("locked\n"), r.out());
        assertFalse(r.out().contains("socket:"), "the attempt never returned:\n" + r.out());
        assertEquals(128 + 31, r.status(), r.out());
    }

    @Test
    void sandboxLogNamesTheDeniedCallAndLetsItRun() throws Exception {
        Path socket = dir.resolve("seccomp.sock");
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Thread logger = SeccompLogger.listen(socket, "probe", log::add);
        Run r = probe("log", "socket", List.of(socket), "--log-socket", socket.toString());
        logger.join(TimeUnit.SECONDS.toMillis(20));
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("socket: allowed"), "under --sandbox-log the call runs:\n" + r.out());
        assertTrue(log.contains("helper probe: denied syscall socket"), "logged by name: " + log);
        assertFalse(logger.isAlive(), "the logger ends with the helper");
    }

    @Test
    void sandboxLogAlsoNamesAnOpenThatEnforcingWouldFail() throws Exception {
        Path socket = dir.resolve("seccomp.sock");
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Thread logger = SeccompLogger.listen(socket, "probe", log::add);
        Run r = probe("log", "open", List.of(socket), "--log-socket", socket.toString());
        logger.join(TimeUnit.SECONDS.toMillis(20));
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("open: allowed"), r.out());
        assertTrue(log.contains("helper probe: denied syscall openat"), "logged by name: " + log);
        assertFalse(log.contains("helper probe: denied syscall clone3"), "ENOSYS for clone3 denies nothing and is not logged: " + log);
    }

    @Test
    void theHelperHasItsOwnNamespacesSeccompModeTwoAndAnEmptyRoot() throws Exception {
        Process p = new ProcessBuilder(JailFixture.jailedJava(jars, List.of(), JailProbe.class.getName(), List.of("blk", "enforce", "wait")))
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null && !line.equals("ready")) {
                // "locked" comes first
            }
            assertEquals("ready", line, "the probe locked itself down and waits");
            long pid = JailFixture.javaIn(p).pid();
            for (String ns : List.of("user", "pid", "mnt", "net", "ipc", "uts")) {
                assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns", ns)),
                        Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns", ns)), ns + " namespace of the helper");
            }
            List<String> status = Files.readAllLines(Path.of("/proc/" + pid + "/status"));
            assertTrue(status.contains("Seccomp:\t2"), "seccomp filter mode: " + grep(status, "Seccomp"));
            assertTrue(status.contains("NoNewPrivs:\t1"), grep(status, "NoNewPrivs"));
            assertTrue(status.contains("CapEff:\t0000000000000000"), "no capabilities, not even in its namespace: " + grep(status, "CapEff"));
            Set<String> root;
            try (var entries = Files.list(Path.of("/proc/" + pid + "/root"))) {
                root = entries.map(e -> e.getFileName().toString()).collect(Collectors.toSet());
            }
            // Only what was bound in (and the parents bwrap made for it) is there: the JDK, the jars, the
            // loader and libraries, /proc. No /etc, /dev, /sys, /home, /var of the host.
            Set<String> bound = new java.util.HashSet<>(Set.of("proc"));
            List<Path> paths = new ArrayList<>(jars);
            paths.add(Path.of(System.getProperty("java.home")));
            paths.addAll(JvmFiles.systemFiles(Path.of(System.getProperty("java.home"))).keySet());
            for (Path b : paths) bound.add(b.getName(0).toString());
            assertTrue(bound.containsAll(root), "the helper's root holds only what was bound: " + root + " within " + bound);
            for (String absent : List.of("etc", "dev", "sys", "var", "home")) {
                assertFalse(root.contains(absent), "/" + absent + " of the host is not in the helper's root: " + root);
            }
            p.getOutputStream().close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), "end of input ends the probe normally");
        } finally {
            p.destroyForcibly();
        }
    }

    private static String grep(List<String> lines, String key) {
        return lines.stream().filter(l -> l.startsWith(key)).findFirst().orElse(key + " missing");
    }
}
