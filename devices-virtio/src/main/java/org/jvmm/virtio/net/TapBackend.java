package org.jvmm.virtio.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.virtio.VirtioFeatures;

/**
 * A Linux TAP device (Documentation/networking/tuntap.rst, {@code <linux/if_tun.h>}) opened with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR: each read or write is one Ethernet frame preceded by a 12-byte
 * {@code virtio_net_hdr} (TUNSETVNETHDRSZ), exactly the virtio 1.x header, so checksum and segmentation
 * offloads pass through between the guest and the host kernel. TUNSETOFFLOAD tells the kernel which
 * offloaded frames the guest can receive.
 *
 * <p>Linux only: elsewhere {@link #open} and {@link #adopt} refuse with a sentence naming the socket
 * backends to use instead, before touching the Linux binding.
 */
public final class TapBackend implements NetBackend {

    private static final Logger LOG = Logger.getLogger(TapBackend.class.getName());

    // <linux/if_tun.h>
    private static final long TUNSETIFF = 0x400454caL; // _IOW('T', 202, int)
    private static final long TUNSETOFFLOAD = 0x400454d0L; // _IOW('T', 208, unsigned int)
    private static final long TUNSETVNETHDRSZ = 0x400454d8L; // _IOW('T', 216, int)
    private static final short IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000;
    private static final int TUN_F_CSUM = 1, TUN_F_TSO4 = 2, TUN_F_TSO6 = 4;
    /** {@code <net/if.h>}: IFNAMSIZ, and sizeof(struct ifreq) on LP64. */
    private static final int IFNAMSIZ = 16, IFREQ_SIZE = 40;

    private final String name;
    private final int fd;

    private TapBackend(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    /**
     * Opens (or creates, with CAP_NET_ADMIN) the TAP device {@code ifname}.
     *
     * @throws ConfigurationException if the host is not Linux, the name is invalid, the device cannot be
     *     used by this user, or the host has no TUN/TAP driver
     */
    public static TapBackend open(String ifname) {
        return open(ifname, Posix.DARWIN);
    }

    /** As {@link #open(String)} on a macOS host if {@code darwin}: the refusal there is testable on Linux. */
    static TapBackend open(String ifname, boolean darwin) {
        if (darwin) throw linuxOnly(ifname);
        byte[] n = ifname.getBytes(StandardCharsets.UTF_8);
        if (n.length == 0 || n.length >= IFNAMSIZ || ifname.contains("/") || ifname.contains(" ")) {
            throw new ConfigurationException("Bad TAP interface name '" + ifname + "': give 1 to 15 characters without '/' or spaces.");
        }
        int fd;
        try {
            fd = LinuxLibc.open("/dev/net/tun", LinuxLibc.O_RDWR | LinuxLibc.O_NONBLOCK | LinuxLibc.O_CLOEXEC, 0);
        } catch (SysException e) {
            throw new ConfigurationException("Cannot open /dev/net/tun (" + e.errnoName()
                    + "): load the tun module (modprobe tun) and make /dev/net/tun readable and writable for this user.");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = a.allocate(IFREQ_SIZE);
            MemorySegment.copy(n, 0, ifr, ValueLayout.JAVA_BYTE, 0, n.length);
            ifr.set(ValueLayout.JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
            LinuxLibc.ioctl(fd, "TUNSETIFF", TUNSETIFF, ifr);
            MemorySegment size = a.allocate(ValueLayout.JAVA_INT);
            size.set(ValueLayout.JAVA_INT, 0, VirtioNetHeader.SIZE);
            LinuxLibc.ioctl(fd, "TUNSETVNETHDRSZ", TUNSETVNETHDRSZ, size);
            // Nothing offloaded towards the guest until it negotiates it.
            LinuxLibc.ioctl(fd, "TUNSETOFFLOAD", TUNSETOFFLOAD, 0L);
        } catch (SysException e) {
            LinuxLibc.close(fd);
            if (e.errno() == Errno.EPERM || e.errno() == Errno.EACCES) {
                throw new ConfigurationException("TAP device " + ifname + " is not permitted for this user: create it with"
                        + " 'ip tuntap add dev " + ifname + " mode tap user $USER vnet_hdr' or run jvmm with CAP_NET_ADMIN.");
            }
            if (e.errno() == Errno.EBUSY) {
                throw new ConfigurationException("TAP device " + ifname + " is busy: stop the program using it or choose another --net tap: name.");
            }
            throw new ConfigurationException("Cannot attach TAP device " + ifname + " (" + e.getMessage()
                    + "): check that it is a TAP (not TUN) device created with vnet_hdr.");
        }
        return new TapBackend(ifname, fd);
    }

    /**
     * Takes ownership of {@code fd}, a TAP descriptor that another process already attached to
     * {@code ifname} with {@link #open} (a device helper receives it that way and opens nothing itself).
     */
    public static TapBackend adopt(String ifname, int fd) {
        if (Posix.DARWIN) throw linuxOnly(ifname);
        return new TapBackend(ifname, fd);
    }

    private static ConfigurationException linuxOnly(String ifname) {
        return new ConfigurationException("TAP devices (--net tap:" + ifname + ") exist only on Linux: on this host use --net unixgram:SOCKET"
                + " with a vfkit-style datagram socket (gvproxy -listen-vfkit unixgram://SOCKET) or --net passt:SOCKET with a passt-style stream socket.");
    }

    @Override public String describe() { return "tap:" + name; }
    @Override public int fd() { return fd; }

    @Override
    public long offloadFeatures() {
        return VirtioFeatures.bit(NetFeatures.CSUM) | VirtioFeatures.bit(NetFeatures.GUEST_CSUM)
                | VirtioFeatures.bit(NetFeatures.HOST_TSO4) | VirtioFeatures.bit(NetFeatures.HOST_TSO6)
                | VirtioFeatures.bit(NetFeatures.GUEST_TSO4) | VirtioFeatures.bit(NetFeatures.GUEST_TSO6);
    }

    /** TUNSETOFFLOAD: which offloaded frames the kernel may hand the guest (the GUEST_* features). */
    @Override
    public void offloads(long negotiated) {
        long flags = 0;
        if (VirtioFeatures.has(negotiated, NetFeatures.GUEST_CSUM)) {
            flags |= TUN_F_CSUM;
            if (VirtioFeatures.has(negotiated, NetFeatures.GUEST_TSO4)) flags |= TUN_F_TSO4;
            if (VirtioFeatures.has(negotiated, NetFeatures.GUEST_TSO6)) flags |= TUN_F_TSO6;
        }
        LinuxLibc.ioctl(fd, "TUNSETOFFLOAD", TUNSETOFFLOAD, flags);
    }

    @Override
    public int receive(byte[] buffer) {
        try {
            return LinuxLibc.read(fd, buffer, 0, buffer.length);
        } catch (SysException e) {
            if (e.errno() != Errno.EAGAIN) LOG.log(Level.FINE, describe() + ": read failed", e);
            return 0;
        }
    }

    @Override
    public void send(byte[] frame, int length) {
        try {
            LinuxLibc.write(fd, frame, 0, length);
        } catch (SysException e) {
            // EAGAIN (queue full), EIO (interface down), EINVAL (the kernel refused the header): dropped, as a wire would.
            LOG.log(Level.FINE, describe() + ": frame dropped", e);
        }
    }

    @Override
    public void close() {
        LinuxLibc.close(fd);
    }
}
