package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The macOS Seatbelt profiles as text (no Mac here: whether macOS accepts and enforces them is
 * unverified): deny by default, read-only code, the device's own files only when named, no network,
 * no exec or fork, balanced parentheses and safely quoted paths.
 */
class SeatbeltProfileTest {

    private static final Path JDK = Path.of("/Library/Java/JavaVirtualMachines/temurin-25.jdk/Contents/Home");
    private static final List<Path> JARS = List.of(Path.of("/opt/jvmm/lib/org.jvmm.core.jar"), Path.of("/opt/jvmm/lib/org.jvmm.sandbox.jar"));

    @Test
    void denyByDefaultWithReadOnlyCode() {
        String p = new SeatbeltProfile("net", JDK, JARS, List.of()).text();
        assertTrue(p.startsWith("(version 1)\n"), p);
        assertTrue(p.contains("\n(deny default)\n"), p);
        assertTrue(p.contains("(allow file-read*\n    (subpath \"" + JDK + "\")\n    (literal \"/opt/jvmm/lib/org.jvmm.core.jar\")\n"
                + "    (literal \"/opt/jvmm/lib/org.jvmm.sandbox.jar\"))"), p);
        assertFalse(p.contains("file-write"), "a net helper writes no file: " + p);
        for (String never : List.of("(allow default", "(allow network", "(allow process-exec", "(allow process-fork",
                "(allow mach", "(allow file-write*", "(allow file-read* (subpath \"/\")", "ipc-posix-shm-write-create",
                "ipc-posix-shm-write-unlink", "ipc-posix-sem", "(allow ipc-posix-shm*", "(allow ipc-posix*")) {
            assertFalse(p.contains(never), never + " in\n" + p);
        }
        // Guest memory only: jvmm's shared memory objects, whose names are "/jvmm-" and 16 hex digits.
        assertTrue(p.contains("(allow ipc-posix-shm-read-data ipc-posix-shm-write-data\n    (ipc-posix-name-regex #\"^/jvmm-[0-9a-f]+$\"))"), p);
        assertEquals(1, p.split("\\(allow ipc", -1).length - 1, "one IPC rule: " + p);
        assertBalanced(p);
    }

    @Test
    void theDiskImageIsTheOnlyWritableFileOfTheBlkHelper() {
        Path image = Path.of("/Users/me/vm/disk.img");
        String p = new SeatbeltProfile("blk", JDK, JARS, List.of(image)).text();
        assertTrue(p.contains("(allow file-read-data file-write-data\n    (literal \"/Users/me/vm/disk.img\"))"), p);
        assertEquals(1, p.split("file-write", -1).length - 1, "one write rule: " + p);
        assertTrue(p.contains("; jvmm blk helper"), p);
        assertBalanced(p);
    }

    @Test
    void pathsAreQuotedOrRefused() {
        assertEquals("\"/a \\\"b\\\" \\\\c\"", SeatbeltProfile.quote(Path.of("/a \"b\" \\c")));
        assertThrows(IllegalArgumentException.class, () -> SeatbeltProfile.quote(Path.of("/a\nb")));
        assertThrows(IllegalArgumentException.class, () -> SeatbeltProfile.quote(Path.of("relative.jar")));
        assertThrows(IllegalArgumentException.class, () -> new SeatbeltProfile("blk) (allow default", JDK, JARS, List.of()));
        assertBalanced(new SeatbeltProfile("console", JDK, List.of(Path.of("/x/\"(allow default)\".jar")), List.of()).text());
    }

    @Test
    void theBindingRefusesOtherSystems() {
        if (System.getProperty("os.name").startsWith("Mac")) return;
        assertThrows(UnsupportedOperationException.class, () -> MacSandbox.init("(version 1)(deny default)"));
    }

    /** Parentheses balance outside string literals (SBPL strings escape \" and \\). */
    private static void assertBalanced(String p) {
        int depth = 0;
        boolean inString = false;
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (inString) {
                if (c == '\\') i++;
                else if (c == '"') inString = false;
            } else if (c == ';') {
                while (i < p.length() && p.charAt(i) != '\n') i++;
            } else if (c == '"') {
                inString = true;
            } else if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
                assertTrue(depth >= 0, "unbalanced at " + i + ":\n" + p);
            }
        }
        assertFalse(inString, "an unterminated string:\n" + p);
        assertEquals(0, depth, "unbalanced:\n" + p);
    }
}
