package org.jvmm.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.vhost.SocketWire;
import org.jvmm.sandbox.vhost.VhostUserBackend;
import org.jvmm.sandbox.vhost.VhostUserCodec;
import org.jvmm.sandbox.vhost.VhostUserPayload;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserRequest;
import org.jvmm.sandbox.vhost.Wire;
import org.jvmm.virtio.blk.DiskImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The helper's production form: everything arrives as descriptors ({@code --socket-fd}, {@code --disk-fd})
 * and it opens nothing by a path of its own; its exit status says how the connection ended.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HelperTest {

    @TempDir Path dir;

    @Test
    void servesTheDiskDescriptorOnTheSocketDescriptorAndExitsZeroOnDisconnect() throws Exception {
        Path image = dir.resolve("disk.img");
        Files.write(image, new byte[3 * 512 * 7]);
        int disk = LinuxLibc.open(image.toString(), LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() -> Helper.run(new String[] {
                "blk", "--socket-fd", String.valueOf(pair[1]), "--disk-fd", String.valueOf(disk)}));
        try (SocketWire front = new SocketWire(pair[0])) {
            send(pair[0], VhostUserRequest.SET_PROTOCOL_FEATURES, new U64(1L << VhostUserBackend.PF_CONFIG));
            send(pair[0], VhostUserRequest.GET_CONFIG, new Config(0, 0, new byte[8]));
            ByteBuffer reply = ByteBuffer.wrap(read(front, 12 + 12 + 8)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(VhostUserRequest.GET_CONFIG.code(), reply.getInt(0));
            assertEquals(21, reply.getLong(24), "capacity in sectors of the disk behind the descriptor");
        }
        assertEquals(0, status.get(10, TimeUnit.SECONDS));
        // The helper served that descriptor itself, locked, and closed it when it ended: the image is free again.
        DiskImage.open(image, false).close();
    }

    @Test
    void exitsOneWhenTheFrontEndBreaksTheProtocol() throws Exception {
        Path image = dir.resolve("disk.img");
        Files.write(image, new byte[4096]);
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() -> Helper.run(new String[] {
                "blk", "--socket-fd", String.valueOf(pair[1]), "--test-open-disk", image.toString()}));
        try (SocketWire front = new SocketWire(pair[0])) {
            send(pair[0], VhostUserRequest.SET_FEATURES, new U64(1));
            assertEquals(1, status.get(10, TimeUnit.SECONDS), "SET_FEATURES before SET_OWNER ends the helper with status 1");
        }
    }

    @Test
    void theTrainingRunServesASectorThroughTheFrontEndAndExitsZero() {
        assertEquals(0, Helper.run(new String[] {"train"}), "Helper train: write, flush and read back through the front-end");
    }

    @Test
    void argumentErrorsAreOneSentence() {
        var e = assertThrows(ConfigurationException.class, () -> Helper.run(new String[] {"blk", "--socket-fd", "3"}));
        assertTrue(e.getMessage().startsWith("Give exactly one of --disk-fd"), e.getMessage());
        assertThrows(ConfigurationException.class, () -> Helper.run(new String[] {"net"}));
        assertThrows(ConfigurationException.class, () -> Helper.run(new String[] {"blk", "--socket-fd", "x"}));
    }

    private static void send(int socket, VhostUserRequest r, VhostUserPayload payload) {
        byte[] bytes = VhostUserCodec.request(r, VhostUserCodec.VERSION, payload);
        LinuxLibc.sendWithFds(socket, bytes, new int[0]);
    }

    private static byte[] read(Wire wire, int n) throws Exception {
        byte[] out = new byte[n];
        for (int got = 0; got < n; ) {
            Wire.Chunk c = wire.receive(n - got, 0);
            assertTrue(c.data().length > 0, "the helper closed the connection early");
            System.arraycopy(c.data(), 0, out, got, c.data().length);
            got += c.data().length;
        }
        return out;
    }
}
