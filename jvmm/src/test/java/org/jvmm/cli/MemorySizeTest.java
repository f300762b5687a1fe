package org.jvmm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;

class MemorySizeTest {

    @Test
    void suffixesArePowersOf1024() {
        assertEquals(512L * 1024 * 1024, MemorySize.parse("512M"));
        assertEquals(2L * 1024 * 1024 * 1024, MemorySize.parse("2G"));
        assertEquals(2L * 1024 * 1024 * 1024, MemorySize.parse("2gib"));
        assertEquals(64L * 1024, MemorySize.parse("64KB"));
        assertEquals(1L << 40, MemorySize.parse("1T"));
        assertEquals(268435456L, MemorySize.parse("268435456"));
        assertEquals(100L, MemorySize.parse("100B"));
    }

    @Test
    void nonsenseIsRejectedWithASentence() {
        for (String bad : new String[] {"", "M", "0", "0G", "-1", "1.5G", "12X", "G2", "1 G x", "9223372036854775807K",
                "99999999999999999999"}) {
            ConfigurationException e = assertThrows(ConfigurationException.class, () -> MemorySize.parse(bad), bad);
            assertEquals("Invalid memory size '" + bad + "': give a positive size such as 512M, 2G or a number of bytes.",
                    e.getMessage());
        }
    }

    @Property
    void megabytes(@ForAll @LongRange(min = 1, max = 1L << 30) long n) {
        assertEquals(n * 1024 * 1024, MemorySize.parse(n + "M"));
        assertEquals(n * 1024 * 1024, MemorySize.parse(n + "mib"));
    }

    /** Whatever the user types, the answer is a positive size or the one-sentence error: never another exception. */
    @Property
    void anyTextIsAPositiveSizeOrAConfigurationError(@ForAll String text) {
        try {
            assertTrue(MemorySize.parse(text) > 0);
        } catch (ConfigurationException expected) {
            // the sentence for the user
        }
    }
}
