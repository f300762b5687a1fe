package org.jvmm.cli;

import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * The controlling terminal switched to raw mode while the guest owns it, and restored afterwards.
 *
 * <p>Raw input hands every key to the guest unchanged (Ctrl-C interrupts the guest's program, not jvmm;
 * Ctrl-A x is the way out) and turns off local echo, which the guest's own line discipline does.
 * The saved settings are restored by {@link #close()} and, for SIGTERM/SIGINT or {@code System.exit}, by a
 * shutdown hook, so the user never gets a terminal left raw.
 */
final class Terminal implements AutoCloseable {

    private static final int STDIN = 0, STDOUT = 1;
    private static final int C_OFLAG_OFFSET = 4; // little-endian: the low byte of c_oflag
    private static final int OPOST = 0x1, ONLCR = 0x4; // asm-generic/termbits.h
    private static final Terminal NONE = new Terminal(null);

    private final Runnable restore;
    private final Thread hook;
    private boolean restored;

    private Terminal(Runnable restore) {
        this.restore = restore;
        this.hook = restore == null ? null : new Thread(this::restoreOnce, "jvmm-terminal-restore");
        if (hook != null) Runtime.getRuntime().addShutdownHook(hook);
    }

    /** A terminal that does nothing: standard input is not a terminal, or is not the process's. */
    static Terminal none() {
        return NONE;
    }

    /** Puts standard input into raw mode if it is a terminal; otherwise {@link #none()}. */
    static Terminal rawIfTerminal() {
        if (!System.getProperty("os.name", "").equals("Linux") || !LinuxLibc.isatty(STDIN)) return none();
        byte[] saved = LinuxLibc.tcgetattr(STDIN);
        // The hook is registered before the switch, so no exit path can leave the terminal raw.
        Terminal terminal = new Terminal(() -> LinuxLibc.tcsetattr(STDIN, LinuxLibc.TCSADRAIN, saved));
        LinuxLibc.tcsetattr(STDIN, LinuxLibc.TCSADRAIN, withOutputProcessing(LinuxLibc.cfmakeraw(saved)));
        return terminal;
    }

    /**
     * Turns output processing back on after {@code cfmakeraw}, as QEMU's stdio console does: the guest's
     * own line discipline already sends CR LF, and jvmm's lines on standard error (the trace, the
     * statistics, messages) need the terminal's newline translation to not step down the screen.
     * {@code struct termios} starts {@code c_iflag, c_oflag} as 32-bit flags (bits/termios-struct.h) and
     * {@code OPOST} is bit 0 of {@code c_oflag} (asm-generic/termbits.h), on x86-64 and arm64 alike.
     */
    private static byte[] withOutputProcessing(byte[] termios) {
        termios[C_OFLAG_OFFSET] |= OPOST;
        return termios;
    }

    /**
     * Whether standard output is a terminal that turns LF into CR LF ({@code OPOST} and {@code ONLCR} in
     * {@code c_oflag}), as a raw terminal of jvmm's and a cooked one are by default: guest output then
     * needs {@link GuestOutput}'s CR dropping. Asked once the terminal is set up.
     */
    static boolean stdoutAddsCarriageReturn() {
        if (!System.getProperty("os.name", "").equals("Linux") || !LinuxLibc.isatty(STDOUT)) return false;
        byte[] termios = LinuxLibc.tcgetattr(STDOUT);
        int oflag = termios[C_OFLAG_OFFSET] & 0xff;
        return (oflag & OPOST) != 0 && (oflag & ONLCR) != 0;
    }

    @Override
    public void close() {
        if (hook == null) return;
        restoreOnce();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // The hook is running or has run: it restores the terminal itself.
        }
    }

    private synchronized void restoreOnce() {
        if (restored) return;
        restored = true;
        try {
            restore.run();
        } catch (RuntimeException terminalGone) {
            // The terminal was hung up or closed: there is nothing left to restore.
        }
    }
}
