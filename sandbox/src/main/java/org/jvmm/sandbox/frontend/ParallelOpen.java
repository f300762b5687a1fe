package org.jvmm.sandbox.frontend;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.jvmm.virtio.VirtioDevice;

/**
 * Opens several vhost-user devices at once (each connection and handshake on its own thread), so the wait is the
 * slowest back-end's, not the sum; on any failure every device already opened is closed and the first failure is
 * thrown.
 */
public final class ParallelOpen {

    private ParallelOpen() {}

    /** The devices {@code openers} produce, in their order. */
    public static List<VirtioDevice> all(List<Supplier<VirtioDevice>> openers) {
        List<CompletableFuture<VirtioDevice>> opening = new ArrayList<>();
        for (Supplier<VirtioDevice> o : openers) opening.add(CompletableFuture.supplyAsync(o, r -> Thread.ofPlatform().daemon().start(r)));
        List<VirtioDevice> devices = new ArrayList<>();
        RuntimeException failure = null;
        for (CompletableFuture<VirtioDevice> f : opening) {
            try {
                devices.add(f.join());
            } catch (CompletionException e) {
                if (failure == null) failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
        }
        if (failure != null) {
            devices.forEach(VirtioDevice::close);
            throw failure;
        }
        return devices;
    }
}
