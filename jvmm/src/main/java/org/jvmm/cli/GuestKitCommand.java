package org.jvmm.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jvmm.core.platform.Platforms;
import org.jvmm.loader.kit.GuestKit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jvmm guest-kit}: builds the default guest from Debian packages (a Debian kernel and an initramfs
 * with busybox and the virtio modules) with {@link GuestKit}, into {@code .guest/ARCH} under the
 * repository ({@code -Djvmm.repoRoot}, which bin/jvmm sets) or the current directory.
 */
@Command(name = "guest-kit", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Builds the default guest: a Debian kernel and an initramfs with busybox and the virtio modules.",
                       "Then: jvmm --kernel .guest/ARCH/vmlinuz --initrd .guest/ARCH/initramfs.cpio.gz"})
final class GuestKitCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--arch", paramLabel = "ARCH", description = "x86_64 or arm64 (default: the host's, ${DEFAULT-VALUE}).")
    String arch = Platforms.hostArch();

    @Option(names = "--out", paramLabel = "DIR", description = "Where to write the kit (default: .guest/ARCH).")
    Path out;

    @Option(names = "--cache", paramLabel = "DIR", description = "Where downloaded packages are kept (default: .guest/debs).")
    Path cache;

    @Option(names = "--deb", paramLabel = "FILE",
            description = "A local kernel or busybox-static package to use instead of downloading one (repeatable).")
    List<Path> debs = new ArrayList<>();

    @Override
    public Integer call() {
        GuestKit.Arch a = GuestKit.Arch.of(arch);
        GuestKit.Options defaults = GuestKit.Options.defaults(Path.of(System.getProperty("jvmm.repoRoot", ".")), a);
        GuestKit.Kit kit = GuestKit.build(new GuestKit.Options(a, out != null ? out : defaults.out(),
                cache != null ? cache : defaults.cache(), debs));
        PrintWriter w = spec.commandLine().getOut();
        w.println("guest kit in " + kit.directory() + ": " + kit.kernel().getFileName() + " (" + kit.kernelPackage()
                + ", kernel " + kit.kernelVersion() + "), " + kit.initramfs().getFileName() + " (" + kit.busyboxPackage()
                + "; modules: " + (kit.modules().isEmpty() ? "none" : String.join(" ", kit.modules())) + ")");
        return 0;
    }
}
