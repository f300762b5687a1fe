package org.jvmm.x86.acpi;

import java.nio.ByteBuffer;

/**
 * A Generic Address Structure (ACPI 6.5 §5.2.3.2): where a register is and how to access it.
 *
 * @param space      0 system memory, 1 system I/O
 * @param bitWidth   register width in bits
 * @param bitOffset  offset of the register within the address
 * @param accessSize 1 byte, 2 word, 3 dword, 4 qword
 */
record Gas(int space, int bitWidth, int bitOffset, int accessSize, long address) {

    static final int SYSTEM_IO = 1;
    static final Gas NONE = new Gas(0, 0, 0, 0, 0);

    /** An 8-bit register at I/O port {@code port}, accessed bytewise. */
    static Gas ioByte(int port) {
        return new Gas(SYSTEM_IO, 8, 0, 1, port);
    }

    void put(ByteBuffer b) {
        b.put((byte) space).put((byte) bitWidth).put((byte) bitOffset).put((byte) accessSize).putLong(address);
    }
}
