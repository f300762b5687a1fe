package org.jvmm.core.platform;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the user asked for, independent of architecture.
 *
 * @param memoryBytes guest RAM in bytes
 * @param cpus        number of vCPUs (at least 1)
 * @param kernel      the kernel image file
 * @param initrd      an optional initial ramdisk
 * @param cmdline     the kernel command line (the platform may append to it)
 * @param consoleIn   what the guest's serial console reads (the terminal, or an empty stream)
 * @param consoleOut  where the guest's serial console writes
 */
public record MachineConfig(long memoryBytes, int cpus, Path kernel, Optional<Path> initrd, String cmdline,
                            InputStream consoleIn, OutputStream consoleOut) {
    public MachineConfig {
        if (cpus < 1) throw new IllegalArgumentException("at least one vCPU is needed");
        if (memoryBytes <= 0) throw new IllegalArgumentException("memory size must be positive");
    }
}
