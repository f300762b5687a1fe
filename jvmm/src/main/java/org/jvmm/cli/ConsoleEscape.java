package org.jvmm.cli;

/**
 * The console's escape key, as in QEMU and screen: Ctrl-A starts an escape, the next key says what to do.
 *
 * <ul>
 *   <li>Ctrl-A {@code x} ends the VM.</li>
 *   <li>Ctrl-A Ctrl-A sends one Ctrl-A to the guest.</li>
 *   <li>Ctrl-A followed by any other byte sends both bytes, so nothing the user typed is lost.</li>
 * </ul>
 * Every other byte goes to the guest unchanged. A pure state machine over bytes, one per call, so it
 * is independent of how the terminal delivers input (byte by byte, or a pasted block).
 */
final class ConsoleEscape {

    /** The escape byte: Ctrl-A. */
    static final int CTRL_A = 0x01;

    /** What {@link #feed} returns once the user asked to end the VM. */
    static final int TERMINATE = -1;

    private boolean escaped;
    private boolean terminated;

    /**
     * Takes one byte typed by the user and writes what the guest receives into {@code out}
     * (which must hold two bytes).
     *
     * @return how many bytes of {@code out} are for the guest (0, 1 or 2), or {@link #TERMINATE};
     *         after termination every call returns {@link #TERMINATE}
     */
    int feed(int b, byte[] out) {
        if (terminated) return TERMINATE;
        int c = b & 0xff;
        if (!escaped) {
            if (c == CTRL_A) {
                escaped = true;
                return 0;
            }
            out[0] = (byte) c;
            return 1;
        }
        escaped = false;
        if (c == 'x') {
            terminated = true;
            return TERMINATE;
        }
        if (c == CTRL_A) {
            out[0] = CTRL_A;
            return 1;
        }
        out[0] = CTRL_A;
        out[1] = (byte) c;
        return 2;
    }

    /** Whether the user has asked to end the VM. */
    boolean terminated() {
        return terminated;
    }
}
