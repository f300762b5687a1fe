package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bubblewrap command line, checked as text (the jail itself is checked running in {@link JailTest}). */
class BubblewrapTest {

    @TempDir Path dir;

    private Bubblewrap fake() throws Exception {
        Path bwrap = Files.createFile(dir.resolve("bwrap"));
        bwrap.toFile().setExecutable(true);
        return Bubblewrap.at(bwrap);
    }

    @Test
    void wrapsTheCommandUnchangedAfterTheNamespacesAndBinds() throws Exception {
        Path jar = dir.resolve("jvmm.jar");
        List<String> helper = List.of("/jdk/bin/java", "-cp", jar.toString(), "Helper", "blk", "--socket", "/run/x.sock");
        Bubblewrap jail = fake().readOnly(jar).bind(Path.of("/run/x.sock"));
        List<String> c = jail.wrap(helper);
        assertEquals(dir.resolve("bwrap").toString(), c.getFirst());
        int dashes = c.indexOf("--");
        assertEquals(helper, c.subList(dashes + 1, c.size()), "the helper's command follows -- unchanged");
        List<String> options = c.subList(1, dashes);
                for (String flag : List.of("--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts",
                "--die-with-parent", "--clearenv")) {
            assertTrue(options.contains(flag), flag + " in " + options);
        }
        assertFalse(options.contains("--new-session"), "a session of its own only when asked: " + options);
        List<String> inSession = jail.newSession().wrap(helper);
        assertTrue(inSession.subList(1, inSession.indexOf("--")).contains("--new-session"));
        assertTrue(pairs(options, "--cap-drop").contains("ALL"));
        String home = System.getProperty("java.home");
        assertTrue(triples(options, "--ro-bind").contains(home + " " + home), "the JDK read-only");
        assertTrue(triples(options, "--ro-bind").contains(jar + " " + jar), "the jar read-only");
        assertEquals(List.of("/run/x.sock /run/x.sock"), triples(options, "--bind"), "only the socket is writable");
        assertTrue(pairs(options, "--proc").contains("/proc"));
        assertTrue(pairs(options, "--remount-ro").contains("/"), "the root is read-only");
        assertFalse(options.contains("--dev") || options.contains("--dev-bind") || options.contains("--share-net"), options.toString());
        for (String bound : triples(options, "--ro-bind")) {
            assertFalse(bound.startsWith("/ ") || bound.endsWith(" /"), "the host root is never bound: " + bound);
        }
    }

    @Test
    void theLoaderIsBoundWhereTheLauncherLooksForIt() throws Exception {
        List<String> options = fake().wrap(List.of("java"));
        var interp = JvmFiles.interpreter(Path.of(System.getProperty("java.home"), "bin", "java"));
        assertTrue(interp.isPresent(), "the JDK's launcher is dynamically linked");
        assertTrue(interp.get().getFileName().toString().startsWith("ld-"), interp.get().toString());
        assertTrue(triples(options, "--ro-bind").stream().anyMatch(b -> b.endsWith(" " + interp.get())), "loader bound at " + interp.get());
        assertTrue(triples(options, "--ro-bind").stream().anyMatch(b -> b.matches(".*/libc\\.so\\.6 .*")), "libc bound");
    }

    @Test
    void aMissingBubblewrapIsOneSentenceSayingWhatToDo() {
        var e = assertThrows(ConfigurationException.class, () -> Bubblewrap.at(dir.resolve("no-such-bwrap")));
        assertEquals(Bubblewrap.MISSING, e.getMessage());
        assertTrue(e.getMessage().contains("apt-get install bubblewrap") && e.getMessage().contains("--sandbox=none"));
        assertEquals(1, e.getMessage().split("\\. ").length, "one sentence");
    }

    @Test
    void relativePathsAreRefused() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> fake().readOnly(Path.of("lib/jvmm.jar")));
    }

    /** "A B" for every {@code flag A B} in the options. */
    private static List<String> triples(List<String> options, String flag) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i + 2 < options.size(); i++) {
            if (options.get(i).equals(flag)) out.add(options.get(i + 1) + " " + options.get(i + 2));
        }
        return out;
    }

    private static List<String> pairs(List<String> options, String flag) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i + 1 < options.size(); i++) {
            if (options.get(i).equals(flag)) out.add(options.get(i + 1));
        }
        return out;
    }
}
