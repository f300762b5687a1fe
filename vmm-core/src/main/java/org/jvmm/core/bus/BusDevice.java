package org.jvmm.core.bus;

/**
 * A device that answers guest accesses to an address range on a {@link Bus}.
 *
 * <p>Offsets are relative to the start of the range the device was registered at. The bus serialises
 * calls to one device (each device has its own lock), so implementations need no locking of their
 * own against other vCPUs; they still must be safe against their own worker threads.
 * A device must not throw for any guest-chosen offset, size or value: it answers what the hardware
 * it models would (typically zero, or ignoring the write).
 */
public interface BusDevice {

    /** A short name for traces and statistics, such as {@code "uart@0x3f8"}. */
    String name();

    /** Returns the {@code size}-byte value at {@code offset}, zero-extended. */
    long read(long offset, int size);

    /** Takes the low {@code size} bytes of {@code value} written at {@code offset}. */
    void write(long offset, int size, long value);
}
