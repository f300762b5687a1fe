package org.jvmm.sandbox.jail;

import java.nio.file.Path;
import java.util.List;
import org.jvmm.core.sys.Posix;

/**
 * The macOS counterpart of the seccomp policy: a deny-default Seatbelt profile (SBPL, the Scheme-like
 * language of {@code sandbox-exec} and {@code sandbox_init}) for one device helper, generated here and
 * applied by the helper itself after warm-up through {@link MacSandbox}.
 *
 * <p>What it allows: reading the JDK and jvmm's jars (the JVM still maps a native library or reads a
 * class now and then), reading and writing the device's own files when jvmm names them (the disk image
 * for blk, whose descriptor the helper already holds), reading sysctls (the JVM asks for CPU count and
 * memory size), process information and signals about itself only, and reading and writing the data of
 * jvmm's guest-memory objects (POSIX shared memory named as {@link Posix#sharedMemory} names them, which
 * the helper maps from the descriptors it was given). Everything else is denied by {@code (deny default)}:
 * every other file, every network operation (the helper's sockets arrive connected), {@code process-exec}
 * and {@code process-fork}, Mach IPC, and every other POSIX IPC (creating, unlinking or opening shared
 * memory by another name, semaphores).
 *
 * <p><strong>Unverified:</strong> there is no Mac where this project is tested. The text is checked by
 * unit tests against the rules above; whether a real macOS JVM runs under it has not been seen.
 *
 * @param device      blk, net or console, named in the profile's comment
 * @param javaHome    the helper's JDK
 * @param codePath    jvmm's jars (or class directories)
 * @param deviceFiles files the device works on through descriptors jvmm passed (the disk image); may be empty
 */
public record SeatbeltProfile(String device, Path javaHome, List<Path> codePath, List<Path> deviceFiles) {

    public SeatbeltProfile {
        if (!device.matches("[a-z0-9-]+")) throw new IllegalArgumentException("not a device name: " + device);
        codePath = List.copyOf(codePath);
        deviceFiles = List.copyOf(deviceFiles);
    }

    /** The profile's text, ready for {@code sandbox_init}. */
    public String text() {
        StringBuilder s = new StringBuilder();
        s.append("(version 1)\n");
        s.append("; jvmm ").append(device).append(" helper: nothing but what a warmed-up helper JVM does\n");
        s.append("; with the descriptors jvmm handed it.\n");
        s.append("(deny default)\n");
        s.append("; The JDK and jvmm's code, read-only.\n");
        s.append("(allow file-read*\n    (subpath ").append(quote(javaHome)).append(")");
        for (Path p : codePath) s.append("\n    (literal ").append(quote(p)).append(")");
        s.append(")\n");
        if (!deviceFiles.isEmpty()) {
            s.append("; The device's own files, which it reads and writes through jvmm's descriptors.\n");
            s.append("(allow file-read-data file-write-data");
            for (Path p : deviceFiles) s.append("\n    (literal ").append(quote(p)).append(")");
            s.append(")\n");
        }
        s.append("; Guest memory: the shared memory objects jvmm made (unlinked at once) and handed over, mapped.\n");
        s.append("(allow ipc-posix-shm-read-data ipc-posix-shm-write-data\n    (ipc-posix-name-regex #\"^")
                .append(Posix.SHARED_MEMORY_PREFIX).append("[0-9a-f]+$\"))\n");
        s.append("; What the JVM asks about itself and the machine.\n");
        s.append("(allow sysctl-read)\n");
        s.append("(allow process-info* (target self))\n");
        s.append("(allow signal (target self))\n");
        return s.toString();
    }

    /** An SBPL string literal of an absolute path; control characters are refused rather than escaped. */
    static String quote(Path p) {
        String s = p.toString();
        if (!p.isAbsolute()) throw new IllegalArgumentException("a path in a Seatbelt profile must be absolute: " + s);
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < 0x20 || s.charAt(i) == 0x7f) throw new IllegalArgumentException("a control character in a path: " + s);
        }
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
