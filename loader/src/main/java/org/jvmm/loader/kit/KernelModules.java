package org.jvmm.loader.kit;

import org.jvmm.core.ConfigurationException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Decides which kernel modules the initramfs must carry and in which order {@code /init} loads them.
 *
 * <p>For each {@link Wanted wanted} driver, the kernel's build configuration ({@code config-<version>},
 * shipped in the package's /boot) says whether it is built in ({@code =y}: nothing to load) or a module
 * ({@code =m}). A module comes with its dependency closure from {@code modules.dep}, generated with
 * {@code depmod -b} when the package lacks it (Debian's does), and the order puts every module after all
 * of its dependencies. Compressed modules (.ko.gz, .ko.xz, .ko.zst) are decompressed, since busybox's
 * insmod may not decompress.
 *
 * @param kernelVersion the version, as the directory name under lib/modules and {@code uname -r}
 * @param builtIn       the wanted drivers the kernel has built in
 * @param modules       the modules to load, in load order
 */
public record KernelModules(String kernelVersion, List<String> builtIn, List<Module> modules) {

    public KernelModules {
        builtIn = List.copyOf(builtIn);
        modules = List.copyOf(modules);
    }

    /**
     * A driver the guest needs.
     *
     * @param module  the module name (underscores), e.g. "virtio_mmio"
     * @param kconfig the configuration symbol that builds it, e.g. "CONFIG_VIRTIO_MMIO"
     */
    public record Wanted(String module, String kconfig) {}

    /**
     * One module to load.
     *
     * @param name   the module name with underscores ("virtio_ring")
     * @param path   its path under lib/modules/&lt;version&gt; as it goes into the initramfs, always ending in .ko
     * @param source the (possibly compressed) file it comes from
     * @param dependencies the names of the modules it needs loaded first (modules.dep lists the whole closure)
     */
    public record Module(String name, String path, Path source, List<String> dependencies) {
        public Module {
            dependencies = List.copyOf(dependencies);
        }
    }

    /** The drivers the jvmm guest needs: the virtio-mmio transport, its devices (virtio-fs too), and ext4 with its crc32c. */
    public static final List<Wanted> GUEST_DRIVERS = List.of(
            new Wanted("virtio_mmio", "CONFIG_VIRTIO_MMIO"),
            new Wanted("virtio_blk", "CONFIG_VIRTIO_BLK"),
            new Wanted("virtio_net", "CONFIG_VIRTIO_NET"),
            new Wanted("virtio_console", "CONFIG_VIRTIO_CONSOLE"),
            // virtio-fs (jvmm --fs TAG:DIR): mount -t virtiofs TAG DIR; pulls in fuse.
            new Wanted("virtiofs", "CONFIG_VIRTIO_FS"),
            new Wanted("ext4", "CONFIG_EXT4_FS"),
            // ext4's soft dependency: metadata checksums need a crc32c, which ext4 requests at mount time.
            new Wanted("crc32c_generic", "CONFIG_CRYPTO_CRC32C"));

    private static final List<String> COMPRESSIONS = List.of(".ko", ".ko.gz", ".ko.xz", ".ko.zst");

    /**
     * Resolves {@code wanted} for the kernel unpacked under {@code root} (the directory {@code dpkg-deb -x}
     * wrote: it holds boot/config-VERSION and lib/modules/VERSION or usr/lib/modules/VERSION).
     *
     * @throws ConfigurationException if the tree is not a kernel package's or lacks a wanted driver
     */
    public static KernelModules resolve(Path root, List<Wanted> wanted) {
        Path modulesDir = modulesDirectory(root);
        String version = modulesDir.getFileName().toString();
        Path config = root.resolve("boot").resolve("config-" + version);
        if (!Files.isRegularFile(config)) {
            throw new ConfigurationException("The kernel package has no boot/config-" + version
                    + ", so the guest kit cannot tell built-in drivers from modules; pass a Debian linux-image package.");
        }
        Map<String, String> kconfig = readConfig(config);
        Path depFile = modulesDir.resolve("modules.dep");
        if (!Files.isRegularFile(depFile)) runDepmod(modulesDir, version);
        Map<String, Dependency> byName = readModulesDep(depFile);

        List<String> builtIn = new ArrayList<>();
        LinkedHashSet<String> order = new LinkedHashSet<>();
        for (Wanted w : wanted) {
            String setting = kconfig.getOrDefault(w.kconfig(), "n");
            if (setting.equals("y")) {
                builtIn.add(w.module());
            } else if (byName.containsKey(w.module())) {
                addWithDependencies(w.module(), byName, order, new LinkedHashSet<>());
            } else if (setting.equals("m")) {
                throw new ConfigurationException("The kernel " + version + " builds " + w.module() + " as a module ("
                        + w.kconfig() + "=m) but modules.dep does not list it; pass a complete linux-image package.");
            } else {
                throw new ConfigurationException("The kernel " + version + " has no " + w.module() + " driver ("
                        + w.kconfig() + " is not set); use a kernel built with it.");
            }
        }
        List<Module> modules = new ArrayList<>();
        for (String name : order) {
            Dependency d = byName.get(name);
            modules.add(new Module(name, uncompressedPath(d.path()), modulesDir.resolve(d.path()), d.dependencies()));
        }
        return new KernelModules(version, builtIn, modules);
    }

    /** The module's bytes, decompressed if its file is compressed. */
    public static byte[] contents(Module m) {
        String file = m.source().getFileName().toString();
        try {
            if (file.endsWith(".ko")) return Files.readAllBytes(m.source());
            if (file.endsWith(".ko.gz")) {
                try (InputStream in = new GZIPInputStream(Files.newInputStream(m.source()))) { return in.readAllBytes(); }
            }
        } catch (IOException e) {
            throw new ConfigurationException("Cannot read the kernel module " + m.source() + " (" + e.getMessage()
                    + "); unpack the kernel package again.", e);
        }
        String tool = file.endsWith(".ko.xz") ? "xz" : "zstd";
        Path exe = Tools.require(tool, tool.equals("xz") ? "xz-utils" : "zstd");
        return Tools.check(List.of(exe.toString(), "-dc", m.source().toString()), null, Duration.ofMinutes(1),
                "unpack the kernel package again.").stdout();
    }

    /** The module names of {@link #modules()} in load order. */
    public List<String> moduleNames() {
        return modules.stream().map(Module::name).toList();
    }

    /**
     * The modules.dep lines for exactly the packed modules, so busybox's modprobe works in the guest too.
     * Dependencies are listed in the order modprobe expects (the last is loaded first).
     */
    public String modulesDep() {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < modules.size(); i++) {
            Module m = modules.get(i);
            out.append(m.path()).append(':');
            for (int j = i - 1; j >= 0; j--) {
                if (m.dependencies().contains(modules.get(j).name())) {
                    out.append(' ').append(modules.get(j).path());
                }
            }
            out.append('\n');
        }
        return out.toString();
    }

    private record Dependency(String path, List<String> dependencies) {}

    private static void addWithDependencies(String name, Map<String, Dependency> byName, LinkedHashSet<String> order,
                                            LinkedHashSet<String> visiting) {
        if (order.contains(name)) return;
        if (!visiting.add(name)) {
            throw new ConfigurationException("modules.dep has a dependency cycle through " + name
                    + "; unpack the kernel package again or regenerate modules.dep with depmod.");
        }
        Dependency d = byName.get(name);
        if (d == null) {
            throw new ConfigurationException("modules.dep names " + name + " as a dependency but has no entry for it;"
                    + " regenerate it with depmod.");
        }
        for (String dep : d.dependencies()) addWithDependencies(dep, byName, order, visiting);
        order.add(name);
    }

    private static Path modulesDirectory(Path root) {
        for (Path base : List.of(root.resolve("lib/modules"), root.resolve("usr/lib/modules"))) {
            if (!Files.isDirectory(base)) continue;
            try (var dirs = Files.list(base)) {
                List<Path> versions = dirs.filter(Files::isDirectory).toList();
                if (versions.size() == 1) return versions.getFirst();
                if (versions.size() > 1) {
                    throw new ConfigurationException("The kernel package holds modules for several kernels (" + versions
                            + "); pass a single linux-image-<version> package.");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw new ConfigurationException("The kernel package has no lib/modules/<version> directory; pass a"
                + " linux-image-<version> package, not the linux-image metapackage.");
    }

    private static void runDepmod(Path modulesDir, String version) {
        Path depmod = Tools.require("depmod", "kmod");
        // depmod -b BASE looks in BASE/lib/modules/VERSION; modulesDir is …/lib/modules/VERSION.
        Path base = modulesDir.getParent().getParent().getParent();
        Tools.check(List.of(depmod.toString(), "-b", base.toString(), version), null, Duration.ofMinutes(5),
                "check that the kernel package is complete.");
    }

    static Map<String, String> readConfig(Path config) {
        Map<String, String> settings = new HashMap<>();
        try {
            for (String line : Files.readAllLines(config)) {
                int eq = line.indexOf('=');
                if (line.startsWith("CONFIG_") && eq > 0) settings.put(line.substring(0, eq), line.substring(eq + 1).strip());
            }
        } catch (IOException e) {
            throw new ConfigurationException("Cannot read " + config + " (" + e.getMessage() + "); unpack the kernel package again.", e);
        }
        return settings;
    }

    /** modules.dep: "path: dep-path dep-path …", paths relative to lib/modules/VERSION. */
    static Map<String, Dependency> readModulesDep(Path depFile) {
        Map<String, Dependency> byName = new LinkedHashMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(depFile);
        } catch (IOException e) {
            throw new ConfigurationException("Cannot read " + depFile + " (" + e.getMessage() + "); regenerate it with depmod.", e);
        }
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon <= 0) continue;
            String path = checkedPath(line.substring(0, colon), depFile);
            List<String> deps = new ArrayList<>();
            for (String dep : line.substring(colon + 1).strip().split("\\s+")) {
                if (!dep.isEmpty()) deps.add(moduleName(checkedPath(dep, depFile)));
            }
            byName.put(moduleName(path), new Dependency(path, deps));
        }
        return byName;
    }

    private static String checkedPath(String path, Path depFile) {
        if (path.startsWith("/") || path.contains("..") || COMPRESSIONS.stream().noneMatch(path::endsWith)) {
            throw new ConfigurationException(depFile + " lists an unexpected module path \"" + path
                    + "\"; regenerate it with depmod.");
        }
        return path;
    }

    /** "kernel/drivers/char/hw_random/virtio-rng.ko.xz" → "virtio_rng" (the kernel treats - and _ alike). */
    static String moduleName(String path) {
        String file = path.substring(path.lastIndexOf('/') + 1);
        return file.substring(0, file.indexOf(".ko")).replace('-', '_');
    }

    private static String uncompressedPath(String path) {
        return path.substring(0, path.lastIndexOf(".ko")) + ".ko";
    }
}
