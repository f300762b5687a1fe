package org.jvmm.virtio.net;

/** A transmitted {@code virtio_net_hdr} that breaks §5.1.6.2; the device drops the frame and goes on. */
public final class NetHeaderException extends Exception {

    public NetHeaderException(String reason) {
        super(reason, null, false, false);
    }
}
