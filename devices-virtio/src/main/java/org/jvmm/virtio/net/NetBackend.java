package org.jvmm.virtio.net;

/**
 * Where a virtio-net device's frames go on the host: one descriptor the device polls for input, and
 * whole frames in both directions. Backends do no buffering of their own, so when the guest posts no
 * receive buffers, frames wait in the kernel (socket or TAP queue), which drops them when full.
 *
 * <p>Threading: {@link #receive} is called from the device's receive thread and {@link #send} from its
 * transmit thread, possibly at the same time; {@link #offloads} only while neither runs.
 */
public sealed interface NetBackend extends AutoCloseable permits TapBackend, StreamSocketBackend, DatagramSocketBackend {

    /** For logs and errors: {@code "tap:tap0"}. */
    String describe();

    /** The descriptor that polls readable when a frame (or the end of input) is waiting. */
    int fd();

    /**
     * The offload feature bits ({@link NetFeatures}) the backend can carry; when non-zero, frames in both
     * directions are preceded by a {@link VirtioNetHeader}, when zero they are bare Ethernet frames.
     */
    long offloadFeatures();

    /** Whether frames carry a {@link VirtioNetHeader} on the host side. */
    default boolean carriesHeader() {
        return offloadFeatures() != 0;
    }

    /** Tells the backend which features the driver accepted, before any frame flows. */
    default void offloads(long negotiated) {}

    /**
     * Reads the next frame into {@code buffer} (which holds a header and the largest frame) once
     * {@link #fd()} polled readable.
     *
     * @return the frame's length (header included if {@link #carriesHeader()}), 0 if nothing usable was
     *     there (spurious wake-up, or a frame dropped as too large), or -1 if the peer is gone for good
     */
    int receive(byte[] buffer);

    /** Sends one frame (header included if {@link #carriesHeader()}); a frame the host cannot take is dropped. */
    void send(byte[] frame, int length);

    /**
     * While {@code true}, a {@link #receive} or {@link #send} that is waiting for a stalled peer gives up
     * soon (a backend whose framing cannot survive that then stops carrying frames); the device sets it
     * around a reset, so that a host program that stopped reading cannot hang the guest's vCPU.
     */
    default void abortWaits(boolean abort) {}

    @Override
    void close();
}
