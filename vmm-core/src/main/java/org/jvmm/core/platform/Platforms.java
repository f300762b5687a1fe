package org.jvmm.core.platform;

import java.util.List;
import java.util.ServiceLoader;
import org.jvmm.core.ConfigurationException;

/** Finds the {@link Platform} for an architecture name among the installed ones. */
public final class Platforms {

    private Platforms() {}

    /** All installed platforms. */
    public static List<Platform> installed() {
        return ServiceLoader.load(Platform.class, Platforms.class.getClassLoader()).stream()
                .map(ServiceLoader.Provider::get).toList();
    }

    /**
     * The platform for {@code arch}.
     *
     * @throws ConfigurationException if jvmm knows no such architecture
     */
    public static Platform forArch(String arch) {
        return installed().stream().filter(p -> p.arch().equals(arch)).findFirst()
                .orElseThrow(() -> new ConfigurationException("Unknown architecture '" + arch
                        + "': use one of " + installed().stream().map(Platform::arch).toList() + "."));
    }

    /** The host's architecture in jvmm's names ({@code x86_64} or {@code arm64}). */
    public static String hostArch() {
        return switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "arm64";
            default -> System.getProperty("os.arch");
        };
    }
}
