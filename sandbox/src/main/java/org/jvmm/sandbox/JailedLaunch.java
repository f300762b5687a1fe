package org.jvmm.sandbox;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.Posix;
import org.jvmm.sandbox.jail.Bubblewrap;
import org.jvmm.sandbox.jail.SeccompLogger;
import org.jvmm.sandbox.jail.SeccompMode;

/**
 * {@code --sandbox=process}: a {@link HelperCommand} run inside the jail. On macOS that is the helper's own
 * Seatbelt profile ({@code --jail enforce}, applied by the helper through {@code sandbox_init}; unverified,
 * no Mac here). On Linux the helper runs under {@link Bubblewrap} with only the JDK, its code path, the AOT cache and its socket bound in, and is told
 * ({@code --jail enforce|log}) to install its device's seccomp policy once it has its descriptors and
 * has warmed up. Under {@link SeccompMode#LOG} ({@code --sandbox-log}) a {@link SeccompLogger} waits on a
 * second socket for the helper's seccomp listener and logs every call the policy lacks by name.
 *
 * <p>On Linux the helper's parent is bwrap in another pid namespace, so the helper's own parent check is left
 * out; bwrap's {@code --die-with-parent} and the socket's end of file take its place.
 */
public final class JailedLaunch {

    private JailedLaunch() {}

    /**
     * The command-line function for {@link SandboxedDevices} and {@link HelperProcess#start}: each helper
     * jailed, seccomp in {@code mode}, denied calls (under LOG) to {@code log}. Throws
     * {@link org.jvmm.core.ConfigurationException} at once if bubblewrap is missing.
     */
    public static Function<HelperCommand, List<String>> commandLine(SeccompMode mode, Consumer<String> log) {
        if (Posix.DARWIN) {
            if (mode == SeccompMode.LOG) {
                throw new ConfigurationException("--sandbox-log exists on Linux only: on macOS watch the system's sandbox"
                        + " log instead (log stream --predicate 'sender == \"Sandbox\"').");
            }
            // No namespaces to enter: the helper applies its Seatbelt profile to itself once it has its descriptors.
            return command -> {
                List<String> helper = new ArrayList<>(command.command());
                helper.addAll(List.of("--jail", "enforce"));
                return helper;
            };
        }
        Bubblewrap.locate();   // fail before any helper starts, with the sentence that says what to do
        return command -> wrap(command, mode, log);
    }

    private static List<String> wrap(HelperCommand command, SeccompMode mode, Consumer<String> log) {
        Bubblewrap jail = Bubblewrap.locate().javaHome(command.javaHome()).bind(command.socketPath());
        command.codePath().forEach(p -> jail.readOnly(p.toAbsolutePath()));
        String aot = System.getProperty("jvmm.helperAot", "");
        if (!aot.isEmpty() && new File(aot).isFile()) jail.readOnly(Path.of(aot).toAbsolutePath());
        List<String> helper = new ArrayList<>(command.withoutParentCheck().command());
        helper.addAll(List.of("--jail", mode.name().toLowerCase(Locale.ROOT)));
        if (mode == SeccompMode.LOG) {
            jail.newSession();   // the logging filter lets TIOCSTI through: keep the helper off jvmm's terminal
            Path socket = privateDirectory().resolve("seccomp.sock");
            SeccompLogger.listen(socket, command.device(), log);
            jail.bind(socket);
            helper.addAll(List.of("--jail-log-socket", socket.toString()));
        }
        return jail.wrap(helper);
    }

    private static Path privateDirectory() {
        try {
            Path dir = Files.createTempDirectory("jvmm-seccomp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            dir.toFile().deleteOnExit();   // empty by then: the logger removes the socket once the helper connected
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("creating a directory for the seccomp log socket", e);
        }
    }
}
