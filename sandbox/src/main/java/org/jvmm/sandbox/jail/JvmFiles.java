package org.jvmm.sandbox.jail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The files outside the JDK's own directory that a JVM of this JDK needs to start: the dynamic loader
 * and the system's shared libraries (glibc's libc, libm, libdl, libpthread, librt for Temurin; more for
 * a distribution JDK built against system zlib and friends).
 *
 * <p>Rather than keep a list per distribution, it asks the running JVM: a helper runs the same JDK as
 * jvmm, so the libraries jvmm's JVM has mapped ({@code /proc/self/maps}) are the ones the helper's will
 * map, plus, at most, harmless extras. The loader is bound where the launcher's ELF header asks for it
 * ({@code PT_INTERP}, e.g. {@code /lib64/ld-linux-x86-64.so.2}), which on a merged-/usr system is a
 * symlink the empty root does not have.
 */
final class JvmFiles {

    private JvmFiles() {}

    /**
     * Every file to bind read-only for a JVM from {@code javaHome}, outside {@code javaHome} itself:
     * destination path in the sandbox to source path on the host, in a stable order.
     */
    static Map<Path, Path> systemFiles(Path javaHome) {
        Map<Path, Path> binds = new LinkedHashMap<>();
        Path launcher = javaHome.resolve("bin/java");
        interpreter(launcher).ifPresent(interp -> binds.put(interp, realPath(interp)));
        Path home = realPath(javaHome);
        for (Path lib : mappedLibraries()) {
            if (lib.startsWith(home) || lib.startsWith(javaHome)) continue;
            binds.put(lib, lib);
            // The loader looks a library up by its soname (libz.so.1), which may be a symlink to the
            // versioned file the maps name (libz.so.1.2.13): bind the file under the shorter names too.
            String name = lib.getFileName().toString();
            for (int dot = name.lastIndexOf('.'); dot > name.indexOf(".so"); dot = name.lastIndexOf('.', dot - 1)) {
                Path alias = lib.resolveSibling(name.substring(0, dot));
                if (Files.exists(alias) && realPath(alias).equals(lib)) binds.put(alias, lib);
            }
        }
        return binds;
    }

    /** The shared objects this process has mapped, by real path, in the order first mapped. */
    static List<Path> mappedLibraries() {
        try {
            return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .map(line -> line.split("\\s+", 6))
                    .filter(f -> f.length == 6 && f[5].startsWith("/") && !f[5].endsWith("(deleted)"))
                    .map(f -> f[5])
                    .filter(p -> p.matches(".*/[^/]+\\.so(\\.[0-9.]+)?"))
                    .distinct()
                    .map(Path::of)
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("reading /proc/self/maps", e);
        }
    }

    /**
     * The program interpreter an ELF64 little-endian executable names ({@code PT_INTERP}), if any.
     * Reads the ELF header ({@code e_phoff} at 0x20, {@code e_phentsize} at 0x36, {@code e_phnum} at 0x38)
     * and the program headers ({@code p_type} at 0, {@code p_offset} at 8, {@code p_filesz} at 32).
     */
    static Optional<Path> interpreter(Path executable) {
        try (FileChannel ch = FileChannel.open(executable)) {
            ByteBuffer header = read(ch, 0, 64);
            if (header.getInt(0) != 0x464C457F || header.get(4) != 2 || header.get(5) != 1) return Optional.empty();
            long phoff = header.getLong(0x20);
            int phentsize = Short.toUnsignedInt(header.getShort(0x36));
            int phnum = Short.toUnsignedInt(header.getShort(0x38));
            if (phentsize < 56 || phnum > 64) return Optional.empty();
            for (int i = 0; i < phnum; i++) {
                ByteBuffer ph = read(ch, phoff + (long) i * phentsize, 56);
                if (ph.getInt(0) == 3 /* PT_INTERP */) {
                    long size = ph.getLong(32);
                    if (size < 2 || size > 4096) return Optional.empty();
                    ByteBuffer s = read(ch, ph.getLong(8), (int) size - 1);   // without the NUL
                    return Optional.of(Path.of(StandardCharsets.UTF_8.decode(s).toString()));
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the ELF header of " + executable, e);
        }
    }

    private static ByteBuffer read(FileChannel ch, long at, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) throw new IOException("short ELF file");
        }
        return b.flip();
    }

    static Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException("resolving " + p, e);
        }
    }
}
