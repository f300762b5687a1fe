package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The net policy's one ioctl rule on a real TAP device: TUNSETOFFLOAD, which a net helper issues when
 * the guest negotiates offloads, runs under the enforcing filter; any other ioctl kills the helper.
 * Needs /dev/net/tun and CAP_NET_ADMIN (root here), as jvmm's TAP backend does.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NetPolicyTapTest {

    @TempDir Path dir;

    private record Run(int status, String out) {}

    private Run child(String... extra) throws Exception {
        boolean canTap = Files.exists(Path.of("/dev/net/tun")) && "root".equals(System.getProperty("user.name"));
        if (!canTap && Boolean.getBoolean("jvmm.requireAll")) throw new AssertionError("needs /dev/net/tun and root (CAP_NET_ADMIN)");
        Assumptions.assumeTrue(canTap, "needs /dev/net/tun and root (CAP_NET_ADMIN)");
        List<Path> jars = JailFixture.classPathAsJars(Files.createDirectories(dir.resolve("jars")));
        List<String> c = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:-UsePerfData",
                "--enable-native-access=ALL-UNNAMED", "-cp", String.join(File.pathSeparator, jars.stream().map(Path::toString).toList()),
                TapUnderPolicy.class.getName(), "jvj" + ProcessHandle.current().pid() % 100000));
        c.addAll(List.of(extra));
        Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out);
    }

    @Test
    void offloadsAndFramesRunUnderTheNetPolicy() throws Exception {
        Run r = child();
        assertEquals(0, r.status(), "159 would be SIGSYS: a call outside the net policy\n" + r.out());
        assertTrue(r.out().contains("offloads set, frame sent"), r.out());
    }

    @Test
    void anyOtherIoctlKillsTheHelper() throws Exception {
        Run r = child("other-ioctl");
        assertTrue(r.out().contains("offloads set, frame sent"), r.out());
        assertFalse(r.out().contains("other ioctl allowed"), r.out());
        assertEquals(128 + 31, r.status(), "killed by SIGSYS\n" + r.out());
    }
}
