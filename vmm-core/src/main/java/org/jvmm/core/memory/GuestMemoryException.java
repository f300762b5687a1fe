package org.jvmm.core.memory;

/** A guest-physical access outside guest RAM (or otherwise invalid); the guest chose the address. */
public class GuestMemoryException extends RuntimeException {
    public GuestMemoryException(long address, long length) {
        super("guest address range [0x%x, +0x%x) is not inside guest RAM".formatted(address, length));
    }
    public GuestMemoryException(String message) { super(message); }
}
