package org.jvmm.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import jdk.jfr.Configuration;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.observe.JfrExitObserver;
import org.jvmm.core.observe.StatsObserver;
import org.jvmm.core.observe.TraceObserver;
import org.jvmm.core.observe.VcpuExitEvent;
import org.jvmm.arm64.Arm64Platform;
import org.jvmm.core.platform.MachineConfig;
import org.jvmm.core.platform.Platform;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExtension;
import org.jvmm.sandbox.HelperCommand;
import org.jvmm.sandbox.JailedLaunch;
import org.jvmm.sandbox.Sandbox;
import org.jvmm.sandbox.jail.SeccompMode;
import org.jvmm.core.run.MachineExit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code jvmm} command: boots a kernel in a virtual machine with the guest's serial console on the
 * terminal.
 *
 * <p>Exit status: 0 when the guest powers off or reboots (or the user typed Ctrl-A x); 1 when the VMM
 * or the guest failed, with the reason on standard error; 2 for anything the user must fix (a bad
 * option, a missing file, no {@code /dev/kvm}), as one sentence on standard error and no stack trace.
 */
@Command(name = "jvmm", mixinStandardHelpOptions = true, versionProvider = Jvmm.Version.class,
        sortOptions = false, usageHelpAutoWidth = true,
        subcommands = GuestKitCommand.class,
        description = {
            "Boots a Linux kernel in a virtual machine driven from Java through KVM.",
            "The guest's serial console is this terminal: type Ctrl-A x to end the VM, Ctrl-A Ctrl-A to send Ctrl-A."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:the guest powered off or rebooted, or Ctrl-A x",
            "1:the VMM or the guest failed (the reason is on standard error)",
            "2:a usage or configuration error (one line on standard error)"})
public final class Jvmm implements Callable<Integer> {


    /** The most vCPUs the command accepts; more would be a thread per vCPU for nothing. */
    static final int MAX_CPUS = 256;

    @Option(names = "--arch", paramLabel = "ARCH",
            description = "Guest architecture: x86_64 or arm64 (default: the host's, ${DEFAULT-VALUE}).")
    String arch = Platforms.hostArch();

    @Option(names = "--kernel", paramLabel = "FILE",
            description = "The kernel to boot: a bzImage or ELF vmlinux (x86_64), an Image (arm64).")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "An initial ramdisk (initramfs).")
    Path initrd;

    @Option(names = "--cmdline", paramLabel = "STR",
            description = "The kernel command line; the platform adds its serial console (console=ttyS0 on x86_64,"
                    + " console=ttyAMA0 on arm64) when it names none.")
    String cmdline = "";

    @Option(names = "--mem", paramLabel = "SIZE",
            description = "Guest RAM: 512M, 2G or a number of bytes (default: ${DEFAULT-VALUE}).")
    String mem = "512M";

    @Option(names = "--cpus", paramLabel = "N", description = "Number of vCPUs (default: ${DEFAULT-VALUE}).")
    int cpus = 1;

    @Option(names = "--disk", paramLabel = "FILE[,ro]",
            description = "A raw disk image as a virtio-blk device (vda, vdb, ... in order); ,ro makes it read-only. Repeatable.")
    List<String> disks = new ArrayList<>();

    @Option(names = "--net", paramLabel = "SPEC",
            description = "A virtio-net interface: tap:IFNAME, passt:SOCKET or unixgram:SOCKET, optionally ,mac=MAC. Repeatable.")
    List<String> nets = new ArrayList<>();

    @Option(names = "--console", paramLabel = "KIND",
            description = "A virtio-console (hvc0): stdio (takes the keyboard; the serial console keeps printing),"
                    + " pty (prints the pseudo-terminal to attach to) or none (default: ${DEFAULT-VALUE}).")
    String console = "none";

    @Option(names = "--vhost-user-blk", paramLabel = "SOCKET",
            description = "A virtio-blk disk served by the vhost-user back-end listening on SOCKET (qemu-storage-daemon's"
                    + " vhost-user-blk export, for one), after the other devices. Repeatable.")
    List<String> vhostUserBlks = new ArrayList<>();

    @Option(names = "--fs", paramLabel = "TAG:DIR",
            description = "Share the host directory DIR as a virtio-fs device served by virtiofsd (which jvmm starts in its"
                    + " namespace sandbox); the guest mounts it with mount -t virtiofs TAG /mnt. Repeatable.")
    List<String> shares = new ArrayList<>();

    @Option(names = "--sandbox", paramLabel = "MODE",
            description = "Where the virtio devices run: process (the default: each in its own sandboxed helper process"
                    + " behind vhost-user) or none (inside jvmm).")
    String sandbox;

    @Option(names = "--sandbox-log",
            description = "With --sandbox=process: each system call a helper's seccomp policy would deny is logged by name"
                    + " and allowed to run, instead of killing the helper (for debugging policies; the helpers are then not confined).")
    boolean sandboxLog;

    @Option(names = "--on-helper-failure", paramLabel = "ACTION",
            description = "When a device helper dies or breaks the protocol: continue (its device needs a reset and the VM"
                    + " goes on) or stop (the VM stops cleanly) (default: ${DEFAULT-VALUE}).")
    String onHelperFailure = "continue";

    @Option(names = "--virtio-cmdline",
            description = "Also name each virtio device on the kernel command line (virtio_mmio.device=SIZE@ADDR:IRQ),"
                    + " for kernels that do not read ACPI or a device tree.")
    boolean virtioCmdline;

    @Option(names = "--trace-exits", description = "Print one line per VM exit to standard error.")
    boolean traceExits;

    @Option(names = "--stats", description = "Print exit counts and handling-time percentiles when the VM stops.")
    boolean stats;

    @Option(names = "--jfr", paramLabel = "FILE",
            description = "Write a JDK Flight Recorder recording, with one org.jvmm.VcpuExit event per exit, to FILE.")
    Path jfr;

    @Option(names = "--dump-dtb", paramLabel = "FILE",
            description = "arm64: write the device tree the guest would boot with to FILE and exit without booting.")
    Path dumpDtb;

    private final InputStream stdin;
    private final OutputStream stdout;
    private final PrintStream stderr;
    private final boolean interactive;
    private final Function<String, Platform> platforms;

    private Jvmm(InputStream stdin, OutputStream stdout, PrintStream stderr, boolean interactive,
                 Function<String, Platform> platforms) {
        this.stdin = stdin;
        this.stdout = stdout;
        this.stderr = stderr;
        this.interactive = interactive;
        this.platforms = platforms;
    }

    /** Runs the command on the process's standard streams and exits with its status. */
    public static void main(String[] args) {
        oneLineLogRecords("jvmm");
        // Unbuffered: the guest's console output must appear as the guest writes it.
        OutputStream out = new FileOutputStream(FileDescriptor.out);
        System.exit(execute(args, System.in, out, System.err, true));
    }

    /**
     * Makes every java.util.logging record one line on standard error, {@code PREFIX: LEVEL: message}, unless
     * the user chose a format: the JDK's default spends a second line on the date and the logging method, which
     * means nothing to someone running a VM (a device that needs a reset should be one line naming it and why).
     * Must run before anything logs.
     */
    private static void oneLineLogRecords(String prefix) {
        String key = "java.util.logging.SimpleFormatter.format";
        if (System.getProperty(key) == null) System.setProperty(key, prefix + ": %4$s: %5$s%6$s%n");
    }

    /**
     * Runs the command with the given streams and returns its exit status; never calls {@code System.exit}.
     *
     * @param interactive whether {@code stdin} and {@code stdout} are the process's standard streams: standard
     *                    input may then be put into raw mode if it is a terminal, and guest output is fitted to
     *                    standard output's terminal if it is one
     */
    static int execute(String[] args, InputStream stdin, OutputStream stdout, PrintStream stderr, boolean interactive) {
        return execute(args, stdin, stdout, stderr, interactive, Platforms::forArch);
    }

    /** As {@link #execute(String[], InputStream, OutputStream, PrintStream, boolean)}, with the platforms given: for tests. */
    static int execute(String[] args, InputStream stdin, OutputStream stdout, PrintStream stderr, boolean interactive,
                       Function<String, Platform> platforms) {
        CommandLine cli = new CommandLine(new Jvmm(stdin, stdout, stderr, interactive, platforms));
        cli.setOut(new PrintWriter(stdout, true));
        cli.setErr(new PrintWriter(stderr, true));
        cli.setParameterExceptionHandler((e, a) -> {
            stderr.println("jvmm: " + withoutPeriod(firstLine(e.getMessage())) + "; run jvmm --help for the options.");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
            if (e instanceof ConfigurationException) {
                stderr.println("jvmm: " + firstLine(e.getMessage()));
                return 2;
            }
            // A VMM bug or a host failure: the message, and the stack trace on request (-Djvmm.debug=true).
            stderr.println("jvmm: failed: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (Boolean.getBoolean("jvmm.debug")) e.printStackTrace(stderr);
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        Options o = validate();
        Platform platform = platforms.apply(o.arch());
        if (dumpDtb != null) return dumpDeviceTree(platform, o);

        AtomicReference<Machine> running = new AtomicReference<>();
        AtomicBoolean escaped = new AtomicBoolean();
        Runnable endByEscape = () -> {
            escaped.set(true);
            Machine m = running.get();
            if (m != null) m.stop("terminated by Ctrl-A x");
        };
        InputStream consoleIn = new EscapingInputStream(stdin, endByEscape);

        // Both consoles' output, so that a terminal shows the guest's line ends as the guest wrote them.
        GuestOutput guestOut = new GuestOutput(stdout);
        List<AutoCloseable> closeAfter = new ArrayList<>();
        closeAfter.add(guestOut);
        if (!List.of("continue", "stop").contains(onHelperFailure)) {
            throw new ConfigurationException("Bad --on-helper-failure '" + onHelperFailure + "': give continue or stop.");
        }
        Consumer<String> onHelperLost = line -> {
            Machine m = running.get();
            if (onHelperFailure.equals("stop") && m != null) {
                stderr.println("jvmm: stopping the VM: " + line);
                m.stop("device helper lost: " + line);
            }
        };
        // --sandbox=process: each helper in the jail (Linux: bubblewrap, then its seccomp policy; macOS: its Seatbelt
        // profile); bubblewrap is looked for only when there is a device to serve, and its absence is one sentence
        // before any helper starts.
        Sandbox where = VirtioOptions.sandbox(sandbox);
        boolean anyDevice = !disks.isEmpty() || !nets.isEmpty() || !console.equals("none");
        Function<HelperCommand, List<String>> helperCommandLine = where == Sandbox.PROCESS && anyDevice
                ? JailedLaunch.commandLine(sandboxLog ? SeccompMode.LOG : SeccompMode.ENFORCE, line -> stderr.println("jvmm: " + line))
                : HelperCommand::command;
        MachineExtension virtio = VirtioOptions.devices(platform, disks, nets, console, consoleIn, guestOut, stderr, closeAfter,
                where, onHelperLost, helperCommandLine, vhostUserBlks, shares);
        // With a virtio console on stdio the keyboard is its own; the serial console then only prints.
        InputStream serialIn = console.equals("stdio") ? InputStream.nullInputStream() : consoleIn;
        String kernelCmdline = o.cmdline();
        if (virtioCmdline && virtio != null) {
            int count = disks.size() + nets.size() + (console.equals("none") ? 0 : 1) + vhostUserBlks.size() + shares.size();
            kernelCmdline = (kernelCmdline + " " + VirtioOptions.cmdline(platform.virtioMmioSlots(), count)).strip();
        }
        Machine.Builder builder = Machine.builder(platform)
                .kernel(o.kernel()).memory(o.memoryBytes()).cpus(o.cpus()).cmdline(kernelCmdline)
                .console(serialIn, guestOut);
        if (virtio != null) builder.extension(virtio);
        if (o.initrd() != null) builder.initrd(o.initrd());
        if (traceExits) builder.observer(new TraceObserver(stderr));
        StatsObserver statistics = stats ? new StatsObserver(stderr) : null;
        if (statistics != null) builder.observer(statistics);
        // Only when there is a recording (--jfr, or -XX:StartFlightRecording in JVMM_JAVA_OPTS): touching an
        // event class starts JFR's machinery (about 0.2 s of start-up), and with no observer at all the exit
        // loop skips even naming the device. A recording started later with jcmd sees no exit events.
        if (o.jfr() != null || FlightRecorder.isInitialized()) builder.observer(new JfrExitObserver());

        Recording recording = o.jfr() == null ? null : startRecording(o.jfr());
        CountDownLatch finished = new CountDownLatch(1);
        // SIGTERM, or SIGINT when the terminal is not raw: stop the machine as a power-off would, so the
        // statistics and the recording are still written, and give that a few seconds before the JVM ends.
        Thread onSignal = new Thread(() -> {
            Machine m = running.get();
            if (m != null) m.stop("terminated by a signal");
            try {
                finished.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "jvmm-stop-on-signal");
        Runtime.getRuntime().addShutdownHook(onSignal);
        try (Terminal terminal = interactive ? Terminal.rawIfTerminal() : Terminal.none();
             Machine machine = builder.build()) {
            if (statistics != null) statistics.buses(machine.mmioBus(), machine.pioBus());
            // Only the process's own standard output can be a terminal; the raw switch above keeps ONLCR as it was.
            if (interactive) guestOut.terminalAddsCarriageReturn(Terminal.stdoutAddsCarriageReturn());
            running.set(machine);
            if (escaped.get()) machine.stop("terminated by Ctrl-A x");
            MachineExit exit = machine.run();
            terminal.close(); // the user's terminal back before the last words
            if (escaped.get()) {
                stderr.println("jvmm: terminated by Ctrl-A x");
                return 0;
            }
            if (exit.exitCode() != 0) {
                // Not one line: a guest failure's reason may carry the register dump needed to debug it.
                stderr.println("jvmm: " + exit.reason().strip());
                return 1;
            }
            return 0;
        } finally {
            for (AutoCloseable c : closeAfter) c.close();
            if (recording != null) finish(recording);
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(onSignal);
            } catch (IllegalStateException shuttingDown) {
                // a signal is being handled: the hook is waiting for this very block, and returns now
            }
        }
    }

    /** Writes the arm64 device tree for the options to {@link #dumpDtb}; nothing is booted, so any host can do it. */
    private int dumpDeviceTree(Platform platform, Options o) throws java.io.IOException {
        if (!(platform instanceof Arm64Platform arm64)) {
            throw new ConfigurationException("--dump-dtb is for --arch arm64: x86_64 guests are described by ACPI tables, not a device tree.");
        }
        MachineConfig config = new MachineConfig(o.memoryBytes(), o.cpus(), o.kernel(), Optional.ofNullable(o.initrd()),
                o.cmdline(), InputStream.nullInputStream(), OutputStream.nullOutputStream());
        Files.write(dumpDtb, arm64.deviceTree(config, List.of()));
        return 0;
    }

    /** The options checked and converted, or a {@link ConfigurationException} naming what to fix. */
    private Options validate() {
        checkReadable(kernel, "--kernel", "kernel");
        if (initrd != null) checkReadable(initrd, "--initrd", "initrd");
        long bytes = MemorySize.parse(mem);
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new ConfigurationException("Invalid --cpus " + cpus + ": give a number from 1 to " + MAX_CPUS + ".");
        }
        if (jfr != null) {
            Path dir = jfr.toAbsolutePath().getParent();
            if (dir == null || !Files.isDirectory(dir) || !Files.isWritable(dir)) {
                throw new ConfigurationException("Cannot write the recording '" + jfr
                        + "': its directory must exist and be writable.");
            }
        }
        return new Options(arch, kernel, initrd, cmdline, bytes, cpus, jfr);
    }

    private record Options(String arch, Path kernel, Path initrd, String cmdline, long memoryBytes, int cpus, Path jfr) {}

    private static void checkReadable(Path file, String option, String what) {
        if (file == null) {
            throw new ConfigurationException("No " + what + " given: pass " + option + " FILE.");
        }
        if (!Files.exists(file)) {
            throw new ConfigurationException("The " + what + " file '" + file + "' does not exist: check the path given to " + option + ".");
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ConfigurationException("The " + what + " file '" + file
                    + "' cannot be read: give " + option + " a readable regular file.");
        }
    }

    private static Recording startRecording(Path file) throws Exception {
        Recording recording = new Recording(Configuration.getConfiguration("default"));
        recording.enable(VcpuExitEvent.NAME);
        recording.setToDisk(true);
        recording.setDestination(file);
        recording.start();
        return recording;
    }

    /** Stops the recording, which writes its file; on a signal, JFR's own shutdown hook may have done so already. */
    private static void finish(Recording recording) {
        try {
            if (recording.getState() == RecordingState.RUNNING) recording.stop();
        } catch (IllegalStateException stoppedMeanwhile) {
            // JFR's shutdown hook stopped it between the check and the call, and wrote the file
        }
        recording.close();
    }

    /** Keeps the promise of one line on standard error, whatever text a lower layer produced. */
    private static String firstLine(String message) {
        if (message == null || message.isBlank()) return "unknown error";
        return message.strip().lines().findFirst().orElse("").strip();
    }

    private static String withoutPeriod(String s) {
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    /** The version {@code --version} prints: the module's, when run from the jars. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Jvmm.class.getModule().getDescriptor() == null ? null
                    : Jvmm.class.getModule().getDescriptor().rawVersion().orElse(null);
            return new String[] {"jvmm " + (v == null ? "(development build)" : v)};
        }
    }
}
