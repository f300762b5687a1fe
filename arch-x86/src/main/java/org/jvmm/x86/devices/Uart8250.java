package org.jvmm.x86.devices;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.jvmm.core.bus.BusDevice;
import org.jvmm.core.console.ReceiveFifo;
import org.jvmm.core.irq.IrqLine;

/**
 * A 16550A-compatible UART (the PC's COM port, National Semiconductor PC16550D data sheet), enough for
 * Linux's 8250 driver and for polling firmware.
 *
 * <p>Output is instantaneous: a byte written to THR goes straight to the output stream, so LSR always
 * reports THRE and TEMT, and a THR-empty interrupt follows every write when enabled. Input comes from a
 * daemon thread that reads the input stream into a receive FIFO of {@link #RX_CAPACITY} bytes; when the
 * FIFO is full the thread waits for the guest to read, so a fast producer is slowed down, never buffered
 * without bound. The interrupt is level-triggered: the line is asserted while IIR reports a pending
 * interrupt (received data or THR empty, each gated by IER) and dropped when the cause is gone, as
 * QEMU's and crosvm's UARTs do (MCR.OUT2 does not gate it).
 *
 * <p>Loopback (MCR bit 4) turns THR writes into received bytes and reflects RTS/DTR/OUT1/OUT2 in
 * CTS/DSR/RI/DCD, which Linux's port autodetection relies on.
 *
 * <p>Thread-safety: the bus serialises guest accesses; the input thread synchronises with them on this object.
 */
public final class Uart8250 implements BusDevice, AutoCloseable {

    /** The receive FIFO: four times the 16550A's 16 bytes, so pasted lines flow without stalls. */
    public static final int RX_CAPACITY = 64;
    /** Eight registers. */
    public static final int LENGTH = 8;

    static final int IER_RDA = 0x01, IER_THRE = 0x02;
    static final int IIR_NONE = 0x01, IIR_THRE = 0x02, IIR_RDA = 0x04, IIR_FIFO = 0xc0;
    static final int FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02;
    static final int LCR_DLAB = 0x80;
    static final int MCR_LOOP = 0x10;
    static final int LSR_DR = 0x01, LSR_THRE = 0x20, LSR_TEMT = 0x40;
    static final int MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;

    private final String name;
    private final IrqLine irq;
    private final OutputStream out;
    private final ReceiveFifo rx = new ReceiveFifo(this, RX_CAPACITY, this::updateIrq);
    private int ier, lcr = 0x03, mcr, scr, dll = 0x0c, dlm;
    private boolean fifoEnabled;
    private boolean thrInterrupt;
    private boolean level;

    /**
     * @param name a name for traces, e.g. "com1"
     * @param irq  the interrupt line (GSI 4 for COM1)
     * @param out  where transmitted bytes go (flushed after each byte: this is a console)
     */
    public Uart8250(String name, IrqLine irq, OutputStream out) {
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
        boolean dlab = (lcr & LCR_DLAB) != 0;
        int v = switch ((int) offset) {
            case 0 -> dlab ? dll : receive();
            case 1 -> dlab ? dlm : ier;
            case 2 -> readIir();
            case 3 -> lcr;
            case 4 -> mcr;
            case 5 -> LSR_THRE | LSR_TEMT | (rx.size() > 0 ? LSR_DR : 0);
            case 6 -> msr();
            case 7 -> scr;
            default -> 0;
        };
        updateIrq();
        return v;
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        int v = (int) (value & 0xff);
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch ((int) offset) {
            case 0 -> {
                if (dlab) dll = v;
                else transmit(v);
            }
            case 1 -> {
                if (dlab) {
                    dlm = v;
                } else {
                    // Enabling the THRE interrupt while THR is empty (always, here) raises it at once.
                    if ((v & IER_THRE) != 0 && (ier & IER_THRE) == 0) thrInterrupt = true;
                    ier = v & 0x0f;
                }
            }
            case 2 -> {
                fifoEnabled = (v & FCR_ENABLE) != 0;
                if ((v & FCR_CLEAR_RX) != 0) rx.clear();
            }
            case 3 -> lcr = v;
            case 4 -> mcr = v & 0x1f;
            case 7 -> scr = v;
            default -> { } // LSR and MSR are read-only; offsets beyond 7 are not ours
        }
        updateIrq();
    }

    /** Bytes waiting in the receive FIFO: at most {@link #RX_CAPACITY}. */
    synchronized int pendingInput() {
        return rx.size();
    }

    /** Whether the interrupt line is asserted now. */
    synchronized boolean interruptAsserted() {
        return level;
    }

    private void transmit(int v) {
        if ((mcr & MCR_LOOP) != 0) {
            rx.offer((byte) v); // a full FIFO in loopback overruns: the byte is lost, as on the chip
        } else {
            try {
                out.write(v);
                out.flush();
            } catch (IOException e) {
                // The console went away (closed terminal): the guest keeps running, its output is dropped.
            }
        }
        thrInterrupt = true; // sent at once: THR is empty again
    }

    private int receive() {
        return Math.max(rx.poll(), 0); // an empty RBR reads 0
    }

    private int readIir() {
        int id = interruptId();
        if (id == IIR_THRE) thrInterrupt = false; // reading IIR acknowledges THRE (data sheet, table 4)
        return id | (fifoEnabled ? IIR_FIFO : 0);
    }

    private int interruptId() {
        if ((ier & IER_RDA) != 0 && rx.size() > 0) return IIR_RDA;
        if ((ier & IER_THRE) != 0 && thrInterrupt) return IIR_THRE;
        return IIR_NONE;
    }

    private int msr() {
        if ((mcr & MCR_LOOP) == 0) return MSR_DCD | MSR_DSR | MSR_CTS; // a terminal is attached and ready
        int m = 0;
        if ((mcr & 0x02) != 0) m |= MSR_CTS; // RTS
        if ((mcr & 0x01) != 0) m |= MSR_DSR; // DTR
        if ((mcr & 0x04) != 0) m |= MSR_RI;  // OUT1
        if ((mcr & 0x08) != 0) m |= MSR_DCD; // OUT2
        return m;
    }

    private void updateIrq() {
        boolean want = interruptId() != IIR_NONE;
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
