package org.jvmm.sandbox.jail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.vhost.SocketWire;
import org.jvmm.sandbox.vhost.VhostUserBackend;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;

/**
 * Child JVM of {@link SeccompPolicyFitsTest} (a seccomp filter cannot be removed, so it never runs in the
 * test's own JVM): sets up a virtio-blk back-end and a front-end on a socket pair, installs the blk
 * policy in enforcing mode on every thread, then serves a read and a write and exits normally. A call
 * the policy lacks kills the process with SIGSYS.
 *
 * <pre>BlkUnderPolicy IMAGE</pre> prints {@code served CAPACITY} and, after the write, the image holds the
 * front-end's pattern at sector 5 (checked by the test).
 */
final class BlkUnderPolicy {

    public static void main(String[] args) throws Exception {
        Path image = Path.of(args[0]);
        byte[] disk = Files.readAllBytes(image);
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        DiskImage opened = DiskImage.open(image, false);
        VhostUserBackend backend = new VhostUserBackend(new VirtioBlock(opened, "policy"), new SocketWire(pair[1]));
        try (BlkFrontend frontend = new BlkFrontend(pair[0])) {
            Jail.lockDown("blk", SeccompMode.ENFORCE, null);
            System.out.println("locked");
            CompletableFuture<String> served = CompletableFuture.supplyAsync(backend::serve,
                    r -> Thread.ofPlatform().name("blk-serve").start(r));
            long capacity = frontend.run(disk);
            opened.flush();   // FLUSH's fdatasync under the filter as well (the front-end sends none)
            frontend.close();
            String violation = served.get(20, TimeUnit.SECONDS);
            if (violation != null) throw new AssertionError("the back-end saw a violation: " + violation);
            System.gc();   // a full collection under the filter as well
            System.out.println("served " + capacity + " " + Arrays.hashCode(BlkFrontend.pattern()));
        }
        System.out.flush();
        System.exit(0);
    }
}
