package org.jvmm.loader.kit;

import org.jvmm.core.ConfigurationException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the kit's packages through APT and downloads them into a cache directory with
 * {@code apt-get download} (which needs no root and installs nothing). A package already in the cache at
 * the version APT would fetch is reused, so a kit rebuild works offline.
 */
final class Apt {

    private static final Duration QUERY_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration DOWNLOAD_TIMEOUT = Duration.ofMinutes(15);
    /** A dependency on a concrete kernel, e.g. "linux-image-6.1.0-56-amd64 (= 6.1.192-2)". */
    private static final Pattern KERNEL_DEPENDENCY = Pattern.compile("(linux-image-[0-9][^ ,(|]*)");

    private Apt() {}

    /** The candidate version and architecture APT would install for {@code pkg}, from apt-cache show. */
    record Candidate(String name, String version, String architecture, String depends) {}

    static Candidate candidate(String pkg, String architecture) {
        Path aptCache = Tools.require("apt-cache", "apt");
        Tools.Result r = Tools.run(List.of(aptCache.toString(), "show", "--no-all-versions", pkg + ":" + architecture),
                null, QUERY_TIMEOUT);
        String version = field(r.text(), "Version"), arch = field(r.text(), "Architecture");
        if (r.status() != 0 || version == null || arch == null) {
            throw new ConfigurationException("APT does not know the package " + pkg + ":" + architecture + "; run apt-get update"
                    + " (for another architecture first dpkg --add-architecture), or pass the .deb files with --deb.");
        }
        String depends = field(r.text(), "Depends");
        return new Candidate(pkg, version, arch, depends == null ? "" : depends);
    }

    /** The concrete kernel package the metapackage (e.g. linux-image-amd64) currently depends on. */
    static String kernelPackage(String metapackage, String architecture) {
        Matcher m = KERNEL_DEPENDENCY.matcher(candidate(metapackage, architecture).depends());
        if (!m.find()) {
            throw new ConfigurationException(metapackage + " depends on no linux-image-<version> package; run"
                    + " apt-get update, or pass the kernel package with --deb.");
        }
        return m.group(1);
    }

    /** The package's candidate version in {@code cache}, downloading it first if it is not there yet. */
    static DebianPackage fetch(String pkg, String architecture, Path cache) {
        Candidate c = candidate(pkg, architecture);
        Path file = cache.resolve(DebianPackage.downloadFileName(c.name(), c.version(), c.architecture()));
        if (!Files.isRegularFile(file)) {
            try {
                Files.createDirectories(cache);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Path aptGet = Tools.require("apt-get", "apt");
            Tools.check(List.of(aptGet.toString(), "download", pkg + ":" + architecture + "=" + c.version()), cache, DOWNLOAD_TIMEOUT,
                    "check the network and the APT sources, or pass the package with --deb.");
            if (!Files.isRegularFile(file)) {
                throw new ConfigurationException("apt-get download " + pkg + " did not leave " + file
                        + "; pass the package with --deb.");
            }
        }
        DebianPackage deb = DebianPackage.inspect(file);
        if (!deb.name().equals(c.name()) || !deb.version().equals(c.version())) {
            throw new ConfigurationException(file + " holds " + deb.name() + " " + deb.version() + " instead of "
                    + c.name() + " " + c.version() + "; delete it from the cache and run the guest kit again.");
        }
        return deb;
    }

    /** The value of an RFC 822-style field in apt-cache output (the first stanza), or null. */
    static String field(String stanza, String name) {
        Optional<String> line = stanza.lines().takeWhile(l -> !l.isBlank())
                .filter(l -> l.startsWith(name + ":")).findFirst();
        return line.map(l -> l.substring(name.length() + 1).strip()).orElse(null);
    }
}
