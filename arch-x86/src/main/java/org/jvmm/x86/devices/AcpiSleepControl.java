package org.jvmm.x86.devices;

import org.jvmm.core.bus.BusDevice;

/**
 * The ACPI hardware-reduced sleep control and sleep status registers (ACPI 6.5 §4.8.3.7, named by the
 * FADT's SLEEP_CONTROL_REG and SLEEP_STATUS_REG). The OS powers off by writing SLP_TYPx = the S5 value
 * of the DSDT's {@code \_S5_} package, together with SLP_EN; that ends the machine with status 0.
 * Other sleep states are not advertised, so their writes are ignored.
 *
 * <p>Offset 0: sleep control (write-only, reads 0). Offset 1: sleep status (WAK_STS never set: reads 0).
 */
public final class AcpiSleepControl implements BusDevice {

    /** The SLP_TYPx value for S5 that this device and the DSDT's {@code \_S5_} package agree on. */
    public static final int S5_SLEEP_TYPE = 5;
    /** SLP_TYPx: bits 2–4 of the sleep control register. */
    static final int SLP_TYP_SHIFT = 2;
    /** SLP_EN: bit 5. */
    static final int SLP_EN = 0x20;

    private final SystemControl control;

    public AcpiSleepControl(SystemControl control) {
        this.control = control;
    }

    @Override
    public String name() {
        return "acpi-sleep";
    }

    @Override
    public long read(long offset, int size) {
        return 0;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset != 0) return;
        int type = (int) (value >>> SLP_TYP_SHIFT) & 7;
        if ((value & SLP_EN) != 0 && type == S5_SLEEP_TYPE) control.requestPowerOff("ACPI S5");
    }
}
