package org.jvmm.sandbox.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.StringLength;
import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;

/**
 * The virtio-fs tag: any string of 1 to 36 UTF-8 bytes without NUL is accepted and laid out as virtio 1.2
 * §5.11.4 says (NUL-padded tag[36], then num_request_queues le32); anything else is one sentence.
 */
class FsTagProperties {

    @Property
    void anyTagIsAcceptedExactlyWhenItIsOneTo36BytesWithoutNul(@ForAll @StringLength(max = 60) String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        boolean valid = bytes.length >= 1 && bytes.length <= 36 && text.indexOf('\0') < 0;
        if (!valid) {
            ConfigurationException e = assertThrows(ConfigurationException.class, () -> new FsTag(text));
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
            return;
        }
        byte[] space = new FsTag(text).configSpace(3);
        assertEquals(40, space.length);
        assertArrayEquals(bytes, Arrays.copyOf(space, bytes.length));
        for (int i = bytes.length; i < 36; i++) assertEquals(0, space[i], "padding at " + i);
        assertArrayEquals(new byte[] {3, 0, 0, 0}, Arrays.copyOfRange(space, 36, 40));
    }

    @Test
    void theLayoutOfAKnownTag() {
        byte[] space = new FsTag("share").configSpace(1);
        byte[] expected = new byte[40];
        System.arraycopy(new byte[] {'s', 'h', 'a', 'r', 'e'}, 0, expected, 0, 5);
        expected[36] = 1;
        assertArrayEquals(expected, space);
        assertArrayEquals("abcdefghijklmnopqrstuvwxyz0123456789".getBytes(StandardCharsets.US_ASCII),
                Arrays.copyOf(new FsTag("abcdefghijklmnopqrstuvwxyz0123456789").configSpace(1), 36), "36 bytes, no NUL");
    }

    @Test
    void badTagsAreOneSentenceNamingWhatToGive() {
        for (String bad : new String[] {"", "a\0b", "x".repeat(37), "é".repeat(19)}) {
            ConfigurationException e = assertThrows(ConfigurationException.class, () -> new FsTag(bad), bad);
            assertEquals(1, e.getMessage().lines().count());
            assertEquals(true, e.getMessage().contains("give 1 to 36 bytes without NUL"), e.getMessage());
        }
    }
}
