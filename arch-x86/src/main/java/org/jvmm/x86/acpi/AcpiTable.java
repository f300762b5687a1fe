package org.jvmm.x86.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A system description table: the 36-byte header of ACPI 6.5 §5.2.6 around a body, with the checksum
 * that makes all its bytes sum to zero.
 */
public final class AcpiTable {

    /** The size of the common header. */
    public static final int HEADER_SIZE = 36;
    /** OEM ID in every table jvmm writes. */
    public static final String OEM_ID = "JVMM  ";
    /** OEM table ID. */
    public static final String OEM_TABLE_ID = "JVMMVM  ";
    /** Creator ID: the tool that built the table. */
    public static final String CREATOR_ID = "JVMM";

    private AcpiTable() {}

    /** The complete table: header (with checksum) followed by {@code body}. */
    public static byte[] of(String signature, int revision, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(ascii(signature, 4)).putInt(HEADER_SIZE + body.length).put((byte) revision).put((byte) 0)
                .put(ascii(OEM_ID, 6)).put(ascii(OEM_TABLE_ID, 8)).putInt(1).put(ascii(CREATOR_ID, 4)).putInt(1)
                .put(body);
        byte[] t = b.array();
        t[9] = checksum(t, 0, t.length);
        return t;
    }

    /** The byte that makes {@code bytes[from, to)} sum to zero modulo 256, given the checksum byte is 0 now. */
    public static byte checksum(byte[] bytes, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) sum += bytes[i];
        return (byte) -sum;
    }

    /** Whether {@code bytes[from, to)} sums to zero modulo 256. */
    public static boolean sumsToZero(byte[] bytes, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) sum += bytes[i];
        return (sum & 0xff) == 0;
    }

    static byte[] ascii(String s, int length) {
        if (s.length() != length) throw new IllegalArgumentException("'" + s + "' must be " + length + " characters");
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
