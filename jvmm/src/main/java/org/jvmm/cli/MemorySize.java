package org.jvmm.cli;

import java.util.Locale;
import org.jvmm.core.ConfigurationException;

/**
 * Parses the {@code --mem} argument: a number of bytes, or a number with a binary suffix
 * ({@code K}, {@code M}, {@code G}, {@code T}: powers of 1024), any case, optionally followed by {@code B}
 * or {@code iB}; so {@code 512M}, {@code 2G}, {@code 2GiB} and {@code 268435456} all work.
 */
final class MemorySize {

    private MemorySize() {}

    /**
     * The size {@code text} denotes, in bytes.
     *
     * @throws ConfigurationException if it is not a positive size that fits in 63 bits
     */
    static long parse(String text) {
        String s = text == null ? "" : text.strip().toUpperCase(Locale.ROOT);
        if (s.endsWith("IB")) s = s.substring(0, s.length() - 2);
        else if (s.endsWith("B")) s = s.substring(0, s.length() - 1);
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> { }
            }
            if (shift != 0) s = s.substring(0, s.length() - 1);
        }
        if (s.isEmpty() || s.length() > 19 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) throw invalid(text);
        long number = Long.parseLong(s);
        if (number <= 0 || number > (Long.MAX_VALUE >> shift)) throw invalid(text);
        return number << shift;
    }

    private static ConfigurationException invalid(String text) {
        return new ConfigurationException("Invalid memory size '" + text
                + "': give a positive size such as 512M, 2G or a number of bytes.");
    }
}
