package org.jvmm.virtio.net;

/** virtio-net's device-specific feature bits (virtio 1.2 §5.1.3), as bit numbers. */
public final class NetFeatures {

    /** The device handles packets with a partial checksum (the driver may leave NEEDS_CSUM to it). */
    public static final int CSUM = 0;
    /** The driver handles packets with a partial checksum (the device may deliver NEEDS_CSUM). */
    public static final int GUEST_CSUM = 1;
    /** The {@code mac} configuration field is valid. */
    public static final int MAC = 5;
    /** The driver can receive TCPv4 / TCPv6 segmentation-offload packets. */
    public static final int GUEST_TSO4 = 7, GUEST_TSO6 = 8;
    /** The device can take TCPv4 / TCPv6 segmentation-offload packets. */
    public static final int HOST_TSO4 = 11, HOST_TSO6 = 12;
    /** The driver can merge receive buffers (not offered by jvmm; see {@link VirtioNet}). */
    public static final int MRG_RXBUF = 15;
    /** The {@code status} configuration field is valid. */
    public static final int STATUS = 16;

    private NetFeatures() {}
}
