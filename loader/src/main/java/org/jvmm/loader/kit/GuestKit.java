package org.jvmm.loader.kit;

import org.jvmm.core.ConfigurationException;
import org.jvmm.loader.Arm64Image;
import org.jvmm.loader.BzImage;
import org.jvmm.loader.KernelImage;
import org.jvmm.loader.initramfs.CpioWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

/**
 * Turns Debian packages into a bootable guest: a kernel and an initramfs with busybox, the virtio and ext4
 * modules the kernel does not have built in, and an {@link InitScript /init} that reports
 * {@code JVMM-GUEST-UP …} on the console.
 *
 * <p>Inputs: the concrete kernel package the {@code linux-image-<arch>} metapackage points to and
 * {@code busybox-static}, either given as .deb files or fetched with {@code apt-get download} into a cache.
 * Output, in one directory: {@code vmlinuz} (copied from the package's /boot), {@code initramfs.cpio.gz},
 * and {@code kit.properties} naming the kernel version and package versions. {@code kit.properties} is
 * written last, so a directory that has it holds a complete kit.
 *
 * <p>Usable as a command ({@link #main}) and as a library ({@link #build}, {@link #load}).
 */
public final class GuestKit {

    /** A guest architecture with its Debian names. */
    public enum Arch {
        X86_64("x86_64", "amd64", "amd64"),
        ARM64("arm64", "arm64", "aarch64");

        private final String id, debian, javaOsArch;

        Arch(String id, String debian, String javaOsArch) {
            this.id = id;
            this.debian = debian;
            this.javaOsArch = javaOsArch;
        }

        /** The name used on the command line and as the kit directory's name. */
        public String id() { return id; }

        /** The Debian architecture name. */
        public String debian() { return debian; }

        boolean isHost() { return javaOsArch.equals(System.getProperty("os.arch")); }

        /** The architecture called {@code id} ("x86_64" or "arm64"; "amd64" and "aarch64" are accepted too). */
        public static Arch of(String id) {
            for (Arch a : values()) {
                if (a.id.equals(id) || a.debian.equals(id) || a.javaOsArch.equals(id)) return a;
            }
            throw new ConfigurationException("Unknown guest architecture \"" + id + "\"; pass --arch x86_64 or --arch arm64.");
        }
    }

    /**
     * What to build.
     *
     * @param arch  the guest architecture
     * @param out   the kit directory to write
     * @param cache where downloaded packages are kept
     * @param debs  local packages to use instead of downloading (a kernel, busybox-static, or both)
     */
    public record Options(Arch arch, Path out, Path cache, List<Path> debs) {
        public Options {
            debs = List.copyOf(debs);
        }

        /** The defaults under a repository root: {@code .guest/<arch>} and {@code .guest/debs}. */
        public static Options defaults(Path repoRoot, Arch arch) {
            return new Options(arch, repoRoot.resolve(".guest").resolve(arch.id()), repoRoot.resolve(".guest/debs"), List.of());
        }
    }

    /**
     * A built kit.
     *
     * @param directory            the kit directory
     * @param arch                 its architecture
     * @param kernelVersion        the kernel's release ({@code uname -r} in the guest)
     * @param kernelPackage        the kernel package name and version
     * @param busyboxPackage       the busybox package name and version
     * @param modules              the modules /init loads, in order
     * @param builtIn              the wanted drivers the kernel has built in
     */
    public record Kit(Path directory, Arch arch, String kernelVersion, String kernelPackage, String busyboxPackage,
                      List<String> modules, List<String> builtIn) {
        public Kit {
            modules = List.copyOf(modules);
            builtIn = List.copyOf(builtIn);
        }

        /** The kernel file. */
        public Path kernel() { return directory.resolve(KERNEL_FILE); }

        /** The gzip-compressed cpio initramfs. */
        public Path initramfs() { return directory.resolve(INITRAMFS_FILE); }
    }

    public static final String KERNEL_FILE = "vmlinuz", INITRAMFS_FILE = "initramfs.cpio.gz",
            PROPERTIES_FILE = "kit.properties";
    private static final String BUSYBOX = "busybox-static";

    private GuestKit() {}

    /**
     * Builds a kit as {@code options} say, replacing any kit in the output directory.
     *
     * @throws ConfigurationException with one sentence if a tool, package or driver is missing
     */
    public static Kit build(Options options) {
        Path out = options.out().toAbsolutePath();
        createDirectories(out);
        Path work = null;
        try (FileChannel lockFile = FileChannel.open(out.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lockFile.lock()) {
            DebianPackage kernelDeb = null, busyboxDeb = null;
            for (Path deb : options.debs()) {
                DebianPackage p = DebianPackage.inspect(deb);
                if (!p.architecture().equals(options.arch().debian())) {
                    throw new ConfigurationException(deb + " is for " + p.architecture() + ", not "
                            + options.arch().debian() + "; pass packages for the guest architecture.");
                }
                if (p.name().equals(BUSYBOX)) busyboxDeb = p;
                else if (p.name().matches("linux-image-[0-9].*")) kernelDeb = p;
                else throw new ConfigurationException(deb + " holds " + p.name() + ", neither a linux-image-<version>"
                        + " package nor " + BUSYBOX + "; pass only those with --deb.");
            }
            if (kernelDeb == null || busyboxDeb == null) {
                try (FileChannel cacheLock = lockCache(options.cache()); FileLock ignored2 = cacheLock.lock()) {
                    String arch = options.arch().debian();
                    if (kernelDeb == null) {
                        kernelDeb = Apt.fetch(Apt.kernelPackage("linux-image-" + arch, arch), arch, options.cache());
                    }
                    if (busyboxDeb == null) busyboxDeb = Apt.fetch(BUSYBOX, arch, options.cache());
                }
            }
            work = Files.createTempDirectory("jvmm-guest-kit");
            Path kernelRoot = work.resolve("kernel"), busyboxRoot = work.resolve("busybox");
            kernelDeb.extractTo(kernelRoot);
            busyboxDeb.extractTo(busyboxRoot);
            return assemble(options.arch(), out, kernelDeb, busyboxDeb, kernelRoot, busyboxRoot);
        } catch (IOException e) {
            throw new ConfigurationException("The guest kit could not be written to " + out + " (" + e.getMessage()
                    + "); check that the directory is writable and the disk has space.", e);
        } finally {
            if (work != null) deleteTree(work);
        }
    }

    /**
     * The kit in {@code directory}, as its {@code kit.properties} describes it.
     *
     * @throws ConfigurationException if there is no complete kit there
     */
    public static Kit load(Path directory) {
        Path file = directory.resolve(PROPERTIES_FILE);
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        } catch (IOException e) {
            throw new ConfigurationException("There is no guest kit in " + directory + "; build one with bin/guest-kit.", e);
        }
        String arch = p.getProperty("arch"), version = p.getProperty("kernel.version");
        if (arch == null || version == null || !Files.isRegularFile(directory.resolve(KERNEL_FILE))
                || !Files.isRegularFile(directory.resolve(INITRAMFS_FILE))) {
            throw new ConfigurationException("The guest kit in " + directory + " is incomplete; build it again with bin/guest-kit.");
        }
        return new Kit(directory, Arch.of(arch), version, nameAndVersion(p, "kernel.package"),
                nameAndVersion(p, "busybox.package"), words(p.getProperty("modules", "")), words(p.getProperty("builtin", "")));
    }

    private static Kit assemble(Arch arch, Path out, DebianPackage kernelDeb, DebianPackage busyboxDeb,
                                Path kernelRoot, Path busyboxRoot) throws IOException {
        KernelModules modules = KernelModules.resolve(kernelRoot, KernelModules.GUEST_DRIVERS);
        String version = modules.kernelVersion();
        Path vmlinuz = kernelRoot.resolve("boot").resolve("vmlinuz-" + version);
        if (!Files.isRegularFile(vmlinuz)) {
            throw new ConfigurationException(kernelDeb.file() + " has no boot/vmlinuz-" + version
                    + "; pass a linux-image-<version> package.");
        }
        KernelImage image = KernelImage.read(vmlinuz);
        boolean fits = arch == Arch.X86_64 ? image instanceof BzImage : image instanceof Arm64Image;
        if (!fits) {
            throw new ConfigurationException(kernelDeb.file() + " holds a kernel jvmm cannot boot directly on "
                    + arch.id() + " (" + image.getClass().getSimpleName() + "); pass a linux-image package for " + arch.id() + ".");
        }
        Path busybox = firstFile(busyboxRoot, "bin/busybox", "usr/bin/busybox");
        List<String> applets = arch.isHost() ? appletPaths(busybox) : List.of();

        ByteArrayOutputStream archive = new ByteArrayOutputStream();
        try (CpioWriter cpio = new CpioWriter(new GZIPOutputStream(archive))) {
            for (String dir : List.of("bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "etc", "mnt", "run")) {
                cpio.directory(dir, 0755);
            }
            cpio.directory("tmp", 01777).directory("root", 0700);
            cpio.characterDevice("dev/console", 0600, 5, 1); // the kernel opens it for init before devtmpfs exists
            cpio.file("bin/busybox", 0755, Files.readAllBytes(busybox));
            cpio.symlink("bin/sh", "busybox"); // the interpreter of /init, even before applets are installed
            for (String applet : applets) {
                if (!cpio.contains(applet)) cpio.symlink(applet, "/bin/busybox");
            }
            String moduleRoot = "lib/modules/" + version + "/";
            for (KernelModules.Module m : modules.modules()) {
                cpio.file(moduleRoot + m.path(), 0644, KernelModules.contents(m));
            }
            cpio.file(moduleRoot + "modules.dep", 0644, modules.modulesDep().getBytes(StandardCharsets.UTF_8));
            List<String> paths = modules.modules().stream().map(KernelModules.Module::path).toList();
            cpio.file("init", 0755, InitScript.render(version, paths, applets.isEmpty()).getBytes(StandardCharsets.UTF_8));
        }

        Files.deleteIfExists(out.resolve(PROPERTIES_FILE)); // the kit is incomplete from here until it is rewritten
        replace(out.resolve(KERNEL_FILE), Files.readAllBytes(vmlinuz));
        replace(out.resolve(INITRAMFS_FILE), archive.toByteArray());
        Kit kit = new Kit(out, arch, version, kernelDeb.name() + " " + kernelDeb.version(),
                busyboxDeb.name() + " " + busyboxDeb.version(), modules.moduleNames(), modules.builtIn());
        replace(out.resolve(PROPERTIES_FILE), properties(kit, kernelDeb, busyboxDeb).getBytes(StandardCharsets.UTF_8));
        return kit;
    }

    /** "bin/sh", "usr/bin/[", … from {@code busybox --list-full}: only possible when busybox runs on this host. */
    private static List<String> appletPaths(Path busybox) {
        Tools.Result r = Tools.check(List.of(busybox.toString(), "--list-full"), null, Duration.ofMinutes(1),
                "pass a working busybox-static package.");
        Set<String> paths = new LinkedHashSet<>();
        for (String line : r.text().lines().toList()) {
            String p = line.strip();
            if (p.isEmpty()) continue;
            if (p.startsWith("/") || p.contains("..") || p.contains("//")) {
                throw new ConfigurationException("busybox --list-full printed an unexpected path \"" + p
                        + "\"; pass a working busybox-static package.");
            }
            if (!p.equals("bin/busybox")) paths.add(p);
        }
        return new ArrayList<>(paths);
    }

    private static String properties(Kit kit, DebianPackage kernelDeb, DebianPackage busyboxDeb) {
        // Written by hand, not with Properties.store: no date comment (reproducible), and no escaping of
        // the ':' in Debian epochs, so shell scripts can read the values with sed.
        return "# jvmm guest kit, built by org.jvmm.loader.kit.GuestKit\n"
                + "arch=" + kit.arch().id() + "\n"
                + "kernel.version=" + kit.kernelVersion() + "\n"
                + "kernel.package=" + kernelDeb.name() + "\n"
                + "kernel.package.version=" + kernelDeb.version() + "\n"
                + "busybox.package=" + busyboxDeb.name() + "\n"
                + "busybox.package.version=" + busyboxDeb.version() + "\n"
                + "modules=" + String.join(" ", kit.modules()) + "\n"
                + "builtin=" + String.join(" ", kit.builtIn()) + "\n";
    }

    /**
     * The command: {@code guest-kit [--arch x86_64|arm64] [--out DIR] [--cache DIR] [--deb FILE]…}. Defaults
     * are under the repository root (the system property {@code jvmm.repoRoot}, else the current directory).
     * Prints the kit's directory and contents; on failure prints one sentence and exits with status 2.
     */
    public static void main(String[] args) {
        try {
            Kit kit = build(parse(args));
            System.out.println("guest kit in " + kit.directory() + ": " + KERNEL_FILE + " (" + kit.kernelPackage()
                    + ", kernel " + kit.kernelVersion() + "), " + INITRAMFS_FILE + " (" + kit.busyboxPackage()
                    + "; modules: " + (kit.modules().isEmpty() ? "none" : String.join(" ", kit.modules()))
                    + (kit.builtIn().isEmpty() ? "" : "; built in: " + String.join(" ", kit.builtIn())) + ")");
        } catch (ConfigurationException e) {
            System.err.println("guest-kit: " + e.getMessage());
            System.exit(2);
        }
    }

    static Options parse(String[] args) {
        Path root = Path.of(System.getProperty("jvmm.repoRoot", "."));
        Arch arch = Arch.X86_64;
        Path out = null, cache = null;
        List<Path> debs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: guest-kit [--arch x86_64|arm64] [--out DIR] [--cache DIR] [--deb FILE]...");
                System.exit(0);
            }
            if (!List.of("--arch", "--out", "--cache", "--deb").contains(a)) {
                throw new ConfigurationException("Unknown argument \"" + a + "\"; use --arch, --out, --cache or --deb.");
            }
            if (i + 1 >= args.length) throw new ConfigurationException(a + " needs a value; for example " + a + " " + example(a) + ".");
            String v = args[++i];
            switch (a) {
                case "--arch" -> arch = Arch.of(v);
                case "--out" -> out = Path.of(v);
                case "--cache" -> cache = Path.of(v);
                default -> debs.add(Path.of(v));
            }
        }
        Options d = Options.defaults(root, arch);
        return new Options(arch, out != null ? out : d.out(), cache != null ? cache : d.cache(), debs);
    }

    private static String example(String option) {
        return switch (option) {
            case "--arch" -> "x86_64";
            case "--deb" -> "busybox-static_1.35.0_amd64.deb";
            default -> ".guest/x86_64";
        };
    }

    private static String nameAndVersion(Properties p, String key) {
        return (p.getProperty(key, "") + " " + p.getProperty(key + ".version", "")).strip();
    }

    private static List<String> words(String s) {
        return s.isBlank() ? List.of() : Arrays.asList(s.strip().split("\\s+"));
    }

    private static Path firstFile(Path root, String... candidates) {
        for (String c : candidates) {
            if (Files.isRegularFile(root.resolve(c))) return root.resolve(c);
        }
        throw new ConfigurationException("The " + BUSYBOX + " package has no " + candidates[0] + "; pass Debian's "
                + BUSYBOX + " package.");
    }

    private static FileChannel lockCache(Path cache) throws IOException {
        createDirectories(cache);
        return FileChannel.open(cache.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }

    /** Writes {@code data} beside {@code target} and renames it over, so readers never see half a file. */
    private static void replace(Path target, byte[] data) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try (OutputStream o = Files.newOutputStream(tmp)) {
            o.write(data);
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new ConfigurationException("Cannot create " + dir + " (" + e.getMessage() + "); pass a writable directory.", e);
        }
    }

    private static void deleteTree(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    Files.delete(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
