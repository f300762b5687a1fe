package org.jvmm.arm64.devices;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.jvmm.core.bus.BusDevice;
import org.jvmm.core.console.ReceiveFifo;
import org.jvmm.core.irq.IrqLine;

/**
 * An Arm PrimeCell PL011 UART (ARM DDI 0183, "PrimeCell UART (PL011) Technical Reference Manual"), enough for
 * Linux's {@code amba-pl011} driver and its {@code earlycon}, and for polling firmware.
 *
 * <p>Output is instantaneous: a byte written to UARTDR goes straight to the output stream, so the flag
 * register always reports the transmit FIFO empty and never full, and the transmit interrupt is raised after
 * every write (as QEMU's model does) until the guest clears it through UARTICR. Input comes from a daemon
 * thread into a receive FIFO of {@link #RX_CAPACITY} bytes (the PL011's own depth); when it is full the thread
 * waits for the guest to read. The receive and receive-timeout interrupts are pending while the FIFO holds
 * data. The line is level-triggered: asserted while UARTRIS &amp; UARTIMSC is non-zero.
 *
 * <p>Baud rate, line control and the enable bits of UARTCR are stored and read back but change nothing: the
 * other side is a stream, not a wire. The PrimeCell identification registers hold the PL011 r1 values the
 * AMBA bus matches the driver by (PeriphID 0x00141011, PCellID 0xb105f00d).
 *
 * <p>Thread-safety: the bus serialises guest accesses; the input thread synchronises with them on this object.
 */
public final class Pl011 implements BusDevice, AutoCloseable {

    /** The PL011's receive FIFO depth. */
    public static final int RX_CAPACITY = 16;
    /** The register window: one 4 KiB PrimeCell page. */
    public static final int LENGTH = 0x1000;

    static final int DR = 0x000, RSR = 0x004, FR = 0x018, ILPR = 0x020, IBRD = 0x024, FBRD = 0x028, LCR_H = 0x02c,
            CR = 0x030, IFLS = 0x034, IMSC = 0x038, RIS = 0x03c, MIS = 0x040, ICR = 0x044, DMACR = 0x048;
    static final int FR_RXFE = 1 << 4, FR_TXFF = 1 << 5, FR_RXFF = 1 << 6, FR_TXFE = 1 << 7;
    static final int INT_RX = 1 << 4, INT_TX = 1 << 5, INT_RT = 1 << 6;
    static final int INT_ALL = 0x7ff;
    /** PeriphID0–3 then PCellID0–3, at 0xfe0–0xffc: the PL011 revision 1 identification bytes. */
    static final int[] ID = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

    private final String name;
    private final IrqLine irq;
    private final OutputStream out;
    private final ReceiveFifo rx = new ReceiveFifo(this, RX_CAPACITY, this::updateIrq);
    private int ilpr, ibrd, fbrd, lcrH, cr = 0x300, ifls = 0x12, imsc, dmacr;
    private int txRaw;
    private boolean level;

    /**
     * @param name a name for traces, e.g. "pl011@9000000"
     * @param irq  its interrupt line (SPI 1 in jvmm's layout)
     * @param out  where transmitted bytes go (flushed after each byte: this is a console)
     */
    public Pl011(String name, IrqLine irq, OutputStream out) {
        this.name = name;
        this.irq = irq;
        this.out = out;
    }

    /** Starts the daemon thread that feeds {@code in} to the guest. At most once. */
    public void startInput(InputStream in) {
        rx.start(name + "-input", in);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public synchronized long read(long offset, int size) {
        if (offset < 0 || offset >= LENGTH) return 0;
        int o = (int) offset;
        if (o >= 0xfe0 && (o & 3) == 0) return ID[(o - 0xfe0) >> 2];
        int v = switch (o) {
            case DR -> receive();
            case FR -> FR_TXFE | (rx.size() == 0 ? FR_RXFE : 0) | (rx.isFull() ? FR_RXFF : 0);
            case ILPR -> ilpr;
            case IBRD -> ibrd;
            case FBRD -> fbrd;
            case LCR_H -> lcrH;
            case CR -> cr;
            case IFLS -> ifls;
            case IMSC -> imsc;
            case RIS -> rawStatus();
            case MIS -> rawStatus() & imsc;
            case DMACR -> dmacr;
            default -> 0; // RSR (no errors ever), reserved and test registers
        };
        updateIrq();
        return v;
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        if (offset < 0 || offset >= LENGTH) return;
        int v = (int) value;
        switch ((int) offset) {
            case DR -> transmit(v & 0xff);
            case ILPR -> ilpr = v & 0xff;
            case IBRD -> ibrd = v & 0xffff;
            case FBRD -> fbrd = v & 0x3f;
            case LCR_H -> lcrH = v & 0xff;
            case CR -> cr = v & 0xff87;
            case IFLS -> ifls = v & 0x3f;
            case IMSC -> imsc = v & INT_ALL;
            case ICR -> txRaw &= ~v; // receive interrupts clear themselves when the FIFO drains
            case DMACR -> dmacr = v & 0x7;
            default -> { } // RSR/ECR (no errors to clear), FR, RIS, MIS, reserved: writes ignored
        }
        updateIrq();
    }

    /** Bytes waiting in the receive FIFO. */
    synchronized int pendingInput() {
        return rx.size();
    }

    /** Whether the interrupt line is asserted now. */
    synchronized boolean interruptAsserted() {
        return level;
    }

    private int rawStatus() {
        return txRaw | (rx.size() > 0 ? INT_RX | INT_RT : 0);
    }

    private void transmit(int v) {
        try {
            out.write(v);
            out.flush();
        } catch (IOException e) {
            // The console went away (closed terminal): the guest keeps running, its output is dropped.
        }
        txRaw = INT_TX; // sent at once: the transmit FIFO is below any trigger level again
    }

    private int receive() {
        return Math.max(rx.poll(), 0); // an empty FIFO reads 0
    }

    private void updateIrq() {
        boolean want = (rawStatus() & imsc) != 0;
        if (want != level) {
            level = want;
            irq.set(want);
        }
    }

    /** Stops feeding input (the thread may stay blocked in a read of the stream; it is a daemon). */
    @Override
    public void close() {
        rx.close();
    }
}
