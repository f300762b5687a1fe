package org.jvmm.sandbox;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;

/**
 * The command line of one device helper: a JVM started from the same JDK and the same jars (module path
 * or class path) as the running jvmm, with the small-footprint flags measured for helpers (32 MiB heap,
 * serial GC, C1 only, small stacks, no perf-data file), an AOT cache when one was made for helpers
 * ({@code -Djvmm.helperAot=FILE}), and {@link Helper}'s arguments.
 *
 * <p>This is the one place that builds the command, so that a jail can wrap it: {@link #command()} is the
 * complete argument list, {@link #javaHome()} and {@link #codePath()} are what the jail must bind
 * read-only, {@link #socketPath()} the only other path the helper touches (it connects there once).
 * No descriptor needs to stay open across the exec ({@link #inheritedDescriptors()} is empty): Java's
 * process launcher closes every descriptor but 0-2 in the child, so everything the helper uses (disk,
 * TAP or socket, terminal relay, then guest memory and eventfds) is sent over that socket as SCM_RIGHTS.
 *
 * @param device     the device kind: blk, net or console
 * @param deviceArgs the device's own options ({@code --ro}, {@code --net-kind tap:IF}, ...)
 * @param socketPath the Unix socket jvmm listens on for this helper
 * @param parentPid  the pid the helper checks its parent against after arming its parent-death signal,
 *                   empty when a wrapper (a jail with its own pid namespace) sits in between
 */
public record HelperCommand(String device, List<String> deviceArgs, Path socketPath, OptionalLong parentPid) {

    /** The JVM flags for helpers (see the "JVM facts" in the design notes: about 40 MiB RSS each). */
    public static final List<String> JVM_FLAGS = List.of("-Xmx32m", "-Xss256k", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData");

    public HelperCommand {
        deviceArgs = List.copyOf(deviceArgs);
    }

    /** A helper for {@code device} whose parent is this JVM. */
    public static HelperCommand of(String device, List<String> deviceArgs, Path socketPath) {
        return new HelperCommand(device, deviceArgs, socketPath, OptionalLong.of(ProcessHandle.current().pid()));
    }

    /** The same helper without the parent check, for a wrapper that starts it in another pid namespace. */
    public HelperCommand withoutParentCheck() {
        return new HelperCommand(device, deviceArgs, socketPath, OptionalLong.empty());
    }

    /** The JDK the helper runs on: this JVM's. */
    public Path javaHome() {
        return Path.of(System.getProperty("java.home"));
    }

    /** Whether jvmm runs from the module path (bin/jvmm) rather than the class path (tests, embedders). */
    public static boolean fromModulePath() {
        return Helper.class.getModule().isNamed();
    }

    /** The jars and class directories the helper loads: the module path or the class path of this JVM. */
    public List<Path> codePath() {
        String p = System.getProperty(fromModulePath() ? "jdk.module.path" : "java.class.path", "");
        return Arrays.stream(p.split(File.pathSeparator)).filter(s -> !s.isEmpty()).map(Path::of).toList();
    }

    /** Descriptors the child must inherit: none (see the class comment). */
    public List<Integer> inheritedDescriptors() {
        return List.of();
    }

    /**
     * Prints, one argument a line, the command line of a helper's training run ({@code Helper train}) as
     * this JVM would launch it: bin/jvmm records and creates the helpers' AOT cache with exactly these
     * options, which the cache requires of every helper that uses it.
     */
    public static void main(String[] args) {
        List<String> c = new HelperCommand("train", List.of(), Path.of("unused"), OptionalLong.empty()).jvmCommand();
        c.add("train");
        c.forEach(System.out::println);
    }

    /** The JVM and its options up to the main class, without the helper's own arguments. */
    private List<String> jvmCommand() {
        List<String> c = new ArrayList<>();
        c.add(javaHome().resolve("bin/java").toString());
        c.addAll(JVM_FLAGS);
        String aot = System.getProperty("jvmm.helperAot", "");
        if (!aot.isEmpty() && new File(aot).isFile()) {
            c.addAll(List.of("-XX:AOTCache=" + aot, "-Xlog:aot=off", "-Xlog:cds=off"));
        }
        String path = String.join(File.pathSeparator, codePath().stream().map(Path::toString).toList());
        if (fromModulePath()) {
            c.addAll(List.of("--enable-native-access=org.jvmm.core,org.jvmm.virtio,org.jvmm.sandbox",
                    "-p", path, "-m", "org.jvmm.sandbox/" + Helper.class.getName()));
        } else {
            c.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", path, Helper.class.getName()));
        }
        return c;
    }

    /** The complete command line. */
    public List<String> command() {
        List<String> c = jvmCommand();
        c.add(device);
        c.addAll(List.of("--socket", socketPath.toString(), "--descriptors-on-socket"));
        parentPid.ifPresent(pid -> c.addAll(List.of("--parent-pid", Long.toString(pid))));
        c.addAll(deviceArgs);
        return c;
    }
}
