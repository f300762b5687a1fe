package org.jvmm.virtio.net;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import org.jvmm.core.ConfigurationException;

/**
 * A 48-bit Ethernet unicast address, the guest NIC's address (virtio-net's {@code mac} config field).
 *
 * @param octets the six bytes in transmission order
 */
public record MacAddress(byte[] octets) {

    public MacAddress {
        if (octets.length != 6) throw new IllegalArgumentException("a MAC address has 6 octets, not " + octets.length);
        if ((octets[0] & 1) != 0) throw new IllegalArgumentException("a NIC address must be unicast (first octet even)");
        octets = octets.clone();
    }

    @Override
    public byte[] octets() {
        return octets.clone();
    }

    /**
     * Parses {@code aa:bb:cc:dd:ee:ff} (hex, colon-separated).
     *
     * @throws ConfigurationException if the text is not a unicast MAC address
     */
    public static MacAddress parse(String text) {
        String[] parts = text.split(":", -1);
        byte[] b = new byte[6];
        boolean ok = parts.length == 6;
        for (int i = 0; ok && i < 6; i++) {
            ok = parts[i].length() == 2 && HexFormat.isHexDigit(parts[i].charAt(0)) && HexFormat.isHexDigit(parts[i].charAt(1));
            if (ok) b[i] = (byte) HexFormat.fromHexDigits(parts[i]);
        }
        if (!ok || (b[0] & 1) != 0) {
            throw new ConfigurationException("Bad MAC address '" + text
                    + "': give six hex pairs separated by colons with an even first octet, like mac=52:54:00:12:34:56.");
        }
        return new MacAddress(b);
    }

    /**
     * A random locally administered unicast address (first octet {@code x2}, {@code x6}, {@code xA} or
     * {@code xE}), so it cannot collide with a vendor-assigned one.
     */
    public static MacAddress random() {
        byte[] b = new byte[6];
        ThreadLocalRandom.current().nextBytes(b);
        b[0] = (byte) ((b[0] & 0xfc) | 0x02);
        return new MacAddress(b);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MacAddress m && java.util.Arrays.equals(octets, m.octets);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(octets);
    }

    @Override
    public String toString() {
        return HexFormat.ofDelimiter(":").formatHex(octets);
    }
}
