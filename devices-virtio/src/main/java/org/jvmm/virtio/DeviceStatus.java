package org.jvmm.virtio;

/** The device status bits (virtio 1.2 §2.1) the driver and device exchange through the Status register. */
public final class DeviceStatus {

    /** The guest found the device. */
    public static final int ACKNOWLEDGE = 1;
    /** The guest has a driver for it. */
    public static final int DRIVER = 2;
    /** The driver is set up and the device may serve queues. */
    public static final int DRIVER_OK = 4;
    /** Feature negotiation is complete (the device accepted the driver's features). */
    public static final int FEATURES_OK = 8;
    /** Set by the device: it hit an error it cannot recover from until the driver resets it. */
    public static final int DEVICE_NEEDS_RESET = 64;
    /** Set by the driver: it gave up on the device. */
    public static final int FAILED = 128;

    private DeviceStatus() {}
}
