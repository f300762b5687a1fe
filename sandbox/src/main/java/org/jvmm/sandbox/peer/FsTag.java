package org.jvmm.sandbox.peer;

import java.nio.charset.StandardCharsets;
import org.jvmm.core.ConfigurationException;

/**
 * The tag a virtio-fs device offers (virtio 1.2 §5.11.4): the name the guest mounts the share by, as in
 * {@code mount -t virtiofs TAG /mnt}. It is 1 to 36 bytes of UTF-8 without NUL, and the configuration space
 * carries it NUL-padded (not NUL-terminated when it is 36 bytes long), followed by num_request_queues.
 *
 * @param text the tag
 */
public record FsTag(String text) {

    /** The size of the configuration space's {@code tag} field. */
    public static final int MAX_BYTES = 36;

    /** @throws ConfigurationException if the tag is empty, longer than 36 bytes or contains NUL */
    public FsTag {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > MAX_BYTES || text.indexOf('\0') >= 0) {
            throw new ConfigurationException("Bad virtio-fs tag '" + printable(text)
                    + "': give 1 to 36 bytes without NUL, as in --fs share:DIR.");
        }
    }

    /** The tag for a one-line message: control characters (NUL, line ends) as Java-style escapes. */
    private static String printable(String text) {
        StringBuilder s = new StringBuilder();
        text.codePoints().forEach(c -> {
            if (Character.isISOControl(c) || Character.getType(c) == Character.LINE_SEPARATOR
                    || Character.getType(c) == Character.PARAGRAPH_SEPARATOR) {
                s.append("\\u%04x".formatted(c));
            } else {
                s.appendCodePoint(c);
            }
        });
        return s.toString();
    }

    /** {@code struct virtio_fs_config}: the tag NUL-padded to 36 bytes, then {@code requestQueues} as le32. */
    public byte[] configSpace(int requestQueues) {
        byte[] space = new byte[MAX_BYTES + 4];
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(bytes, 0, space, 0, bytes.length);
        for (int i = 0; i < 4; i++) space[MAX_BYTES + i] = (byte) (requestQueues >>> (8 * i));
        return space;
    }
}
