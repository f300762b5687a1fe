package org.jvmm.cli;

import java.util.concurrent.Callable;
import org.jvmm.core.ConfigurationException;
import picocli.CommandLine.Command;

/** {@code jvmm guest-kit}: builds the default guest (a Debian kernel and a busybox initramfs). */
@Command(name = "guest-kit", mixinStandardHelpOptions = true,
        description = "Builds the default guest: a Debian kernel and an initramfs with busybox and the virtio modules.")
final class GuestKitCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        throw new ConfigurationException("The guest kit builder is not in this build yet: run bin/guest-kit instead.");
    }
}
