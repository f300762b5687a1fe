package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The blk policy is enough for the real thing: a child JVM (the filter cannot be removed, so not this
 * one) installs it enforcing on every thread, then serves a vhost-user conversation with a read and a
 * write, starts threads, runs a full GC and exits; any call outside the policy would kill it with SIGSYS.
 * Needs only a kernel with seccomp, no bubblewrap.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SeccompPolicyFitsTest {

    @TempDir Path dir;

    @Test
    void aBlkBackEndServesAndExitsUnderItsEnforcingPolicy() throws Exception {
        byte[] disk = new byte[64 * 1024];
        new Random(5).nextBytes(disk);
        Path image = dir.resolve("disk.img");
        Files.write(image, disk);
        List<Path> jars = JailFixture.classPathAsJars(Files.createDirectory(dir.resolve("jars")));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:-UsePerfData",
                "--enable-native-access=ALL-UNNAMED", "-cp", String.join(File.pathSeparator, jars.stream().map(Path::toString).toList()),
                BlkUnderPolicy.class.getName(), image.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "status 159 is SIGSYS: a call outside the blk policy\n" + out);
        assertTrue(out.contains("locked\n") && out.contains("served 128 "), out);
        assertArrayEquals(BlkFrontend.pattern(), Arrays.copyOfRange(Files.readAllBytes(image), 5 * 512, 6 * 512),
                "the write reached the image");
    }
}
