package org.jvmm.loader.kit;

import org.jvmm.core.ConfigurationException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A Debian binary package file ({@code .deb}) as its own control fields describe it, read with
 * {@code dpkg-deb}: the name and version in the kit come from the package, never from its file name.
 *
 * @param file         the .deb file
 * @param name         the Package field
 * @param version      the Version field
 * @param architecture the Architecture field (amd64, arm64, all)
 */
public record DebianPackage(Path file, String name, String version, String architecture) {

    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    /**
     * Reads the control fields of {@code deb}.
     *
     * @throws ConfigurationException if it is missing or not a Debian package
     */
    public static DebianPackage inspect(Path deb) {
        if (!Files.isRegularFile(deb)) {
            throw new ConfigurationException(deb + " does not exist; pass the path of a Debian package (.deb) file.");
        }
        Path dpkgDeb = Tools.require("dpkg-deb", "dpkg");
        Tools.Result r = Tools.run(List.of(dpkgDeb.toString(), "--field", deb.toString(), "Package", "Version",
                "Architecture"), null, TIMEOUT);
        String name = null, version = null, arch = null;
        for (String line : r.text().lines().toList()) {
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String value = line.substring(colon + 1).strip();
            switch (line.substring(0, colon)) {
                case "Package" -> name = value;
                case "Version" -> version = value;
                case "Architecture" -> arch = value;
                default -> { }
            }
        }
        if (r.status() != 0 || name == null || version == null || arch == null) {
            throw new ConfigurationException(deb + " is not a Debian package (dpkg-deb cannot read its control"
                    + " fields); pass a .deb file such as one from apt-get download.");
        }
        return new DebianPackage(deb, name, version, arch);
    }

    /** Unpacks the package's files (not its maintainer scripts) under {@code dir} with {@code dpkg-deb -x}. */
    public void extractTo(Path dir) {
        Path dpkgDeb = Tools.require("dpkg-deb", "dpkg");
        Tools.check(List.of(dpkgDeb.toString(), "-x", file.toString(), dir.toString()), null, TIMEOUT,
                "check that " + file + " is a complete Debian package and that there is free disk space.");
    }

    /** The file name apt-get download gives this package ("name_version_arch.deb", with ':' as "%3a"). */
    static String downloadFileName(String name, String version, String architecture) {
        return name + "_" + version.replace(":", "%3a") + "_" + architecture + ".deb";
    }
}
