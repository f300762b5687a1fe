package org.jvmm.virtio.net;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Arrays;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code unixgram:} against a datagram socket bound where gvproxy would be. */
@Timeout(30)
class DatagramSocketBackendTest {

    @TempDir Path dir;

    @Test
    void announcesItselfThenSendsOneFramePerDatagram() {
        Path path = dir.resolve("gvproxy.sock");
        int peer = LinuxLibc.socket(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_DGRAM | LinuxLibc.SOCK_CLOEXEC, 0);
        try {
            LinuxLibc.bindUnix(peer, path.toString());
            try (DatagramSocketBackend b = DatagramSocketBackend.connect(path.toString())) {
                byte[] got = new byte[2048];
                assertArrayEquals(new byte[] {'V', 'F', 'K', 'T'}, Arrays.copyOf(got, LinuxLibc.read(peer, got, 0, got.length)));
                byte[] frame = new byte[60];
                frame[0] = 0x42;
                b.send(frame, frame.length);
                assertArrayEquals(frame, Arrays.copyOf(got, LinuxLibc.read(peer, got, 0, got.length)));
            }
        } finally {
            LinuxLibc.close(peer);
        }
    }

    @Test
    void nothingBoundThereIsOneSentence() {
        var e = assertThrows(ConfigurationException.class, () -> DatagramSocketBackend.connect(dir.resolve("none").toString()));
        assertTrue(e.getMessage().startsWith("Cannot connect to the datagram socket ") && e.getMessage().endsWith("first."), e.getMessage());
    }
}
