package org.jvmm.sandbox.jail;

import java.lang.foreign.Arena;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.virtio.net.TapBackend;

/**
 * Child JVM of {@link NetPolicyTapTest}: opens TAP device {@code NAME} (needs CAP_NET_ADMIN), installs
 * the net policy enforcing, then does what a net helper does with a TAP after warm-up: sets offloads
 * (TUNSETOFFLOAD, when the guest negotiates them) and sends a frame. With {@code other-ioctl} it then
 * tries an ioctl the policy does not name (TUNGETIFF), which must kill it.
 *
 * <pre>TapUnderPolicy NAME [other-ioctl]</pre>
 */
final class TapUnderPolicy {

    /** {@code <linux/if_tun.h>}: {@code _IOR('T', 210, unsigned int)}. */
    private static final long TUNGETIFF = 0x800454d2L;

    public static void main(String[] args) throws Exception {
        try (TapBackend tap = TapBackend.open(args[0]); Arena arena = Arena.ofConfined()) {
            var ifr = arena.allocate(40);
            LinuxLibc.ioctl(tap.fd(), "TUNGETIFF", TUNGETIFF, ifr);   // linked (and allowed) before the filter
            Jail.lockDown("net", SeccompMode.ENFORCE, null);
            System.out.println("locked");
            tap.offloads(tap.offloadFeatures());
            tap.offloads(0);
            tap.send(new byte[12 + 60], 12 + 60);
            System.out.println("offloads set, frame sent");
            System.out.flush();
            if (args.length > 1) {
                LinuxLibc.ioctl(tap.fd(), "TUNGETIFF", TUNGETIFF, ifr);
                System.out.println("other ioctl allowed");
            }
        }
        System.out.flush();
        System.exit(0);
    }
}
