package org.jvmm.x86.devices;

import org.jvmm.core.platform.ExitAction;

/**
 * The machine-wide requests platform devices make: reset (i8042) and power-off (ACPI S5).
 *
 * <p>A bus device cannot end the machine itself; it records the request here, and the platform's
 * assembly hands it to the run loop through {@link org.jvmm.core.platform.Assembly#requestedStop()} —
 * the role the reset eventfd plays in crosvm and Firecracker. The first request wins. Thread-safe.
 */
public final class SystemControl {

    private volatile ExitAction.StopMachine request;

    /** The guest pulsed the reset line. jvmm does not reboot in place: the machine ends with status 0. */
    public void requestReset(String source) {
        record(new ExitAction.StopMachine(0, "guest requested reset (" + source + ")"));
    }

    /** The guest entered S5 (soft off). */
    public void requestPowerOff(String source) {
        record(new ExitAction.StopMachine(0, "guest powered off (" + source + ")"));
    }

    /** The first request made, or null. */
    public ExitAction.StopMachine request() {
        return request;
    }

    private synchronized void record(ExitAction.StopMachine stop) {
        if (request == null) request = stop;
    }
}
