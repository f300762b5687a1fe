package org.jvmm.virtio.net;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.Posix;
import org.jvmm.core.sys.darwin.DarwinLibc;
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
        int peer = Posix.unixSocket(true);
        try {
            Posix.bindUnix(peer, path.toString());
            try (DatagramSocketBackend b = DatagramSocketBackend.connect(path.toString())) {
                byte[] got = new byte[2048];
                assertArrayEquals(new byte[] {'V', 'F', 'K', 'T'}, Arrays.copyOf(got, Posix.read(peer, got, 0, got.length)));
                byte[] frame = new byte[60];
                frame[0] = 0x42;
                b.send(frame, frame.length);
                assertArrayEquals(frame, Arrays.copyOf(got, Posix.read(peer, got, 0, got.length)));
            }
        } finally {
            Posix.close(peer);
        }
    }

    /** The macOS way (no abstract addresses), which works on Linux too. */
    @Test
    void boundToASocketFileInAPrivateDirectoryThePeerCanAnswerAndCloseRemovesBoth() throws Exception {
        Path path = dir.resolve("gvproxy.sock");
        int peer = Posix.unixSocket(true);
        Path local;
        try {
            Posix.bindUnix(peer, path.toString());
            try (DatagramSocketBackend b = DatagramSocketBackend.connect(path.toString(), false)) {
                local = b.localAddress();
                assertNotNull(local);
                assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(local.getParent()),
                        "nobody else may replace or reach our address");
                byte[] got = new byte[2048];
                assertArrayEquals(new byte[] {'V', 'F', 'K', 'T'}, Arrays.copyOf(got, Posix.read(peer, got, 0, got.length)));
                // gvproxy answers to the address the announcement came from; this peer names it directly.
                Posix.connectUnix(peer, local.toString());
                byte[] frame = new byte[60];
                frame[0] = 0x17;
                Posix.send(peer, frame, 0, frame.length);
                Posix.poll(new int[] {b.fd()}, Posix.POLLIN, -1);
                byte[] in = new byte[2048];
                assertArrayEquals(frame, Arrays.copyOf(in, b.receive(in)));
                assertEquals(0, b.receive(in), "nothing pending: the non-blocking socket says so instead of waiting");
            }
        } finally {
            Posix.close(peer);
        }
        assertFalse(Files.exists(local), "the socket file is removed on close");
        assertFalse(Files.exists(local.getParent()), "and so is its directory");
    }

    /** A second descriptor of the same socket, as SCM_RIGHTS gives a net helper: F_DUPFD_CLOEXEC (1030 on Linux, 67 on macOS). */
    private static int dup(int fd) {
        return Posix.DARWIN ? DarwinLibc.fcntl(fd, 67, 0) : LinuxLibc.fcntl(fd, 1030, 0);
    }

    @Test
    void theSocketFileStaysWhileAHandedOverCopyOfTheSocketIsOpen() throws Exception {
        Path path = dir.resolve("gvproxy.sock");
        int peer = Posix.unixSocket(true);
        int helper = -1;
        try {
            Posix.bindUnix(peer, path.toString());
            DatagramSocketBackend jvmm = DatagramSocketBackend.connect(path.toString(), false);
            Path local = jvmm.localAddress();
            helper = dup(jvmm.fd());
            jvmm.close(); // what jvmm does once the helper has the descriptor
            assertTrue(Files.exists(local), "the peer still answers to this name");
            byte[] got = new byte[2048];
            Posix.read(peer, got, 0, got.length); // the announcement
            Posix.connectUnix(peer, local.toString());
            byte[] frame = new byte[60];
            frame[0] = 0x29;
            Posix.send(peer, frame, 0, frame.length);
            Posix.poll(new int[] {helper}, Posix.POLLIN, -1); // the copy shares the non-blocking flag
            assertArrayEquals(frame, Arrays.copyOf(got, Posix.read(helper, got, 0, got.length)), "and the helper's copy hears it");
        } finally {
            if (helper >= 0) Posix.close(helper);
            Posix.close(peer);
        }
    }

    @Test
    void nothingBoundThereIsOneSentence() {
        for (boolean abstractAddress : new boolean[] {!Posix.DARWIN, false}) {
            var e = assertThrows(ConfigurationException.class, () -> DatagramSocketBackend.connect(dir.resolve("none").toString(), abstractAddress));
            assertTrue(e.getMessage().startsWith("Cannot connect to the datagram socket ") && e.getMessage().endsWith("first."), e.getMessage());
        }
    }
}
