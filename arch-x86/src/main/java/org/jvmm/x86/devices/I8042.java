package org.jvmm.x86.devices;

import org.jvmm.core.bus.BusDevice;

/**
 * The part of an Intel 8042 keyboard controller a PC guest uses without a keyboard: status and data
 * reads that look like an idle controller, the controller commands Linux issues while probing, and the
 * reset line — command 0xfe ("pulse output line 0"), which {@code reboot=k} and the FADT reset register
 * send — which ends the machine through {@link SystemControl}.
 *
 * <p>Registered over ports 0x60–0x64: offset 0 is the data port, offset 4 the status/command port;
 * 0x61–0x63 (port B, which KVM's in-kernel PIT answers when present) read as 0.
 */
public final class I8042 implements BusDevice {

    /** Offset of the data port (0x60) from the device base. */
    public static final int DATA = 0;
    /** Offset of the status/command port (0x64). */
    public static final int COMMAND = 4;
    /** The device spans 0x60..0x64. */
    public static final int LENGTH = 5;

    static final int STATUS_OUTPUT_FULL = 0x01;
    static final int STATUS_SYSTEM_FLAG = 0x04;
    static final int STATUS_LAST_WAS_COMMAND = 0x08;
    static final int STATUS_UNLOCKED = 0x10;

    static final int CMD_READ_CONFIG = 0x20;
    static final int CMD_WRITE_CONFIG = 0x60;
    static final int CMD_DISABLE_AUX = 0xa7;
    static final int CMD_ENABLE_AUX = 0xa8;
    static final int CMD_TEST_AUX = 0xa9;
    static final int CMD_SELF_TEST = 0xaa;
    static final int CMD_TEST_KBD = 0xab;
    static final int CMD_DISABLE_KBD = 0xad;
    static final int CMD_ENABLE_KBD = 0xae;
    static final int CMD_READ_OUTPUT_PORT = 0xd0;
    static final int CMD_WRITE_OUTPUT_PORT = 0xd1;
    static final int CMD_PULSE_RESET = 0xfe;

    private final SystemControl control;
    private int config = 0x45; // translate, system flag, keyboard interrupt: the usual firmware default
    private int output = -1;   // the one-byte output buffer; -1 when empty
    private int pendingCommand = -1;
    private boolean lastWasCommand;

    public I8042(SystemControl control) {
        this.control = control;
    }

    @Override
    public String name() {
        return "i8042";
    }

    @Override
    public long read(long offset, int size) {
        if (offset == DATA) {
            int v = output < 0 ? 0 : output;
            output = -1;
            return v;
        }
        if (offset == COMMAND) {
            return (output >= 0 ? STATUS_OUTPUT_FULL : 0) | STATUS_SYSTEM_FLAG | STATUS_UNLOCKED
                    | (lastWasCommand ? STATUS_LAST_WAS_COMMAND : 0);
        }
        return 0;
    }

    @Override
    public void write(long offset, int size, long value) {
        int v = (int) (value & 0xff);
        if (offset == COMMAND) {
            lastWasCommand = true;
            command(v);
        } else if (offset == DATA) {
            lastWasCommand = false;
            data(v);
        }
    }

    private void command(int cmd) {
        pendingCommand = -1;
        switch (cmd) {
            case CMD_READ_CONFIG -> output = config;
            case CMD_WRITE_CONFIG, CMD_WRITE_OUTPUT_PORT -> pendingCommand = cmd;
            case CMD_SELF_TEST -> output = 0x55;
            case CMD_TEST_KBD, CMD_TEST_AUX -> output = 0x00;
            case CMD_READ_OUTPUT_PORT -> output = 0x01; // reset line high (inactive), A20 irrelevant
            case CMD_DISABLE_KBD, CMD_ENABLE_KBD, CMD_DISABLE_AUX, CMD_ENABLE_AUX -> { }
            default -> {
                // 0xf0-0xff pulse output-port lines whose bit is clear; bit 0 is the CPU reset line.
                if ((cmd & 0xf0) == 0xf0 && (cmd & 1) == 0) control.requestReset("i8042 command 0x" + Integer.toHexString(cmd));
            }
        }
    }

    private void data(int v) {
        int cmd = pendingCommand;
        pendingCommand = -1;
        if (cmd == CMD_WRITE_CONFIG) {
            config = v;
        } else if (cmd == CMD_WRITE_OUTPUT_PORT) {
            if ((v & 1) == 0) control.requestReset("i8042 output port write");
        } else {
            output = 0xfe; // a byte for the (absent) keyboard: "resend", as a controller with nothing attached answers
        }
    }
}
