package org.jvmm.loader.initramfs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** CpioWriter's archives read back by Debian's cpio, an independent implementation of the newc format. */
class CpioWriterTest {

    static final byte[] BINARY = new byte[1001]; // odd size: data padding matters
    static { for (int i = 0; i < BINARY.length; i++) BINARY[i] = (byte) (i * 7); }

    static byte[] sampleArchive() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (CpioWriter w = new CpioWriter(out)) {
            w.directory("dev", 0755)
                    .characterDevice("/dev/console", 0600, 5, 1)
                    .blockDevice("dev/vda", 0660, 254, 0)
                    .file("init", 0755, "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8))
                    .file("usr/share/data.bin", 0640, BINARY)   // parents added by the writer
                    .file("empty", 0644, new byte[0])
                    .symlink("bin/sh", "busybox")
                    .file("bin/busybox", 0755, new byte[]{1, 2, 3})
                    .symlink("abs", "/usr/share/data.bin");
        }
        return out.toByteArray();
    }

    @Test
    void cpioListsEveryEntryWithItsTypeAndMode() throws Exception {
        String listing = run(sampleArchive(), null, "cpio", "-itv", "--quiet");
        List<String> lines = listing.lines().toList();
        assertEquals(List.of("dev", "dev/console", "dev/vda", "init", "usr", "usr/share", "usr/share/data.bin",
                "empty", "bin", "bin/sh", "bin/busybox", "abs"), lines.stream().map(CpioWriterTest::nameOf).toList());
        assertTrue(line(lines, "dev").startsWith("drwxr-xr-x"), listing);
        assertTrue(line(lines, "dev/console").matches("crw------- +1 root +root +5, +1 .*"), listing);
        assertTrue(line(lines, "dev/vda").matches("brw-rw---- +1 root +root +254, +0 .*"), listing);
        assertTrue(line(lines, "init").startsWith("-rwxr-xr-x"), listing);
        assertTrue(line(lines, "usr").startsWith("drwxr-xr-x"), listing);
        assertTrue(line(lines, "usr/share/data.bin").matches("-rw-r----- +1 root +root +1001 .*"), listing);
        assertTrue(line(lines, "bin/sh").startsWith("lrwxrwxrwx"), listing);
        assertTrue(line(lines, "bin/sh").endsWith("bin/sh -> busybox"), listing);
        assertTrue(line(lines, "abs").endsWith("abs -> /usr/share/data.bin"), listing);
    }

    @Test
    void cpioExtractsTheSameContents(@TempDir Path dir) throws Exception {
        run(sampleArchive(), dir, "cpio", "-id", "--quiet", "--no-absolute-filenames");
        assertEquals("#!/bin/sh\necho hi\n", Files.readString(dir.resolve("init")));
        assertArrayEquals(BINARY, Files.readAllBytes(dir.resolve("usr/share/data.bin")));
        assertArrayEquals(new byte[]{1, 2, 3}, Files.readAllBytes(dir.resolve("bin/busybox")));
        assertEquals(0, Files.size(dir.resolve("empty")));
        assertEquals(0755, mode(dir.resolve("init")) & 07777);
        assertEquals(0640, mode(dir.resolve("usr/share/data.bin")) & 07777);
        assertEquals(Path.of("busybox"), Files.readSymbolicLink(dir.resolve("bin/sh")));
        if ("root".equals(System.getProperty("user.name"))) { // only root may create device nodes
            int console = mode(dir.resolve("dev/console"));
            assertEquals(0020000, console & 0170000);
            assertEquals(5L << 8 | 1, ((Number) Files.getAttribute(dir.resolve("dev/console"), "unix:rdev",
                    LinkOption.NOFOLLOW_LINKS)).longValue());
        }
    }

    @Test
    void headersAndDataAreFourByteAlignedAndTheArchiveEndsWithTheTrailer() {
        byte[] a = sampleArchive();
        assertEquals(0, a.length % 4);
        String text = new String(a, StandardCharsets.ISO_8859_1);
        assertTrue(text.startsWith("070701"));
        int trailer = text.lastIndexOf("070701");
        assertEquals(0, trailer % 4);
        assertTrue(text.startsWith("TRAILER!!!\0", trailer + 110));
        // namesize of the trailer is 11 (with its NUL), nlink 1.
        assertEquals("0000000b", text.substring(trailer + 6 + 11 * 8, trailer + 6 + 12 * 8));
    }

    @Test
    void refusesBadNamesDuplicatesAndLateEntries() {
        CpioWriter w = new CpioWriter(new ByteArrayOutputStream());
        for (String bad : List.of("", "/", "a/../b", "./a", "a//b", "TRAILER!!!", "a\0b")) {
            assertThrows(IllegalArgumentException.class, () -> w.file(bad, 0644, new byte[0]), bad);
        }
        w.file("a", 0644, new byte[0]);
        assertThrows(IllegalArgumentException.class, () -> w.file("/a", 0644, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.file("b", 010644, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.characterDevice("c", 0600, 4096, 0));
        w.finish();
        assertThrows(IllegalStateException.class, () -> w.directory("d", 0755));
    }

    private static String line(List<String> lines, String name) {
        return lines.stream().filter(l -> nameOf(l).equals(name)).findFirst().orElseThrow();
    }

    /** The entry name in a `cpio -tv` line: after the date, before " -> " for links. */
    private static String nameOf(String line) {
        String[] f = line.split(" +");
        // mode links owner group size-or-"maj," [min] month day time-or-year name [-> target]
        int nameIndex = f[4].endsWith(",") ? 9 : 8;
        return f[nameIndex];
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    }

    static String run(byte[] stdin, Path dir, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (dir != null) pb.directory(dir.toFile());
        Process p = pb.start();
        try (var in = p.getOutputStream()) { in.write(stdin); }
        byte[] output = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "cpio hung");
        String text = new String(output, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + text);
        return text;
    }

}
