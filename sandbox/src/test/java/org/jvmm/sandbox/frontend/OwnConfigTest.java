package org.jvmm.sandbox.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.vhost.SocketWire;
import org.jvmm.sandbox.vhost.VhostUserBackend;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device whose configuration space is the front-end's own (virtio-fs: the tag is jvmm's, not virtiofsd's):
 * the driver reads jvmm's bytes even from a back-end that offers GET_CONFIG and would answer otherwise.
 */
@Timeout(60)
class OwnConfigTest {

    @TempDir Path dir;

    @Test
    void anOwnConfigurationSpaceIsWhatTheDriverReadsWhateverTheBackEndWouldSay() throws Exception {
        Path image = Files.write(dir.resolve("disk.img"), new byte[64 * 512]);
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        VirtioBlock block = new VirtioBlock(DiskImage.open(image, false));
        CompletableFuture<String> served = CompletableFuture.supplyAsync(() -> {
            try (block; VhostUserBackend b = new VhostUserBackend(block, new SocketWire(pair[1]))) {
                return String.valueOf(b.serve());
            }
        });
        byte[] own = new byte[60];
        own[0] = (byte) 0xd2; // capacity 1234 sectors, where the back-end's GET_CONFIG would say 64
        own[1] = 0x04;
        VhostUserDevice device = VhostUserDevice.connect(DeviceShape.block("own-config"), pair[0], BackendPeer.NONE, null, 15_000, own);
        own[0] = 0; // the device keeps its own copy
        assertEquals(1234, device.readConfig(0, 8));
        device.writeConfig(8, 4, 0x01020304L);
        assertEquals(0x01020304L, device.readConfig(8, 4), "a driver's write lands in jvmm's copy");
        assertNull(device.lostReason(), "nothing the back-end could refuse was sent");
        device.close();
        assertEquals("null", served.get(30, TimeUnit.SECONDS), "the back-end saw a clean disconnect");
    }

    @Test
    void anOwnConfigurationSpaceOfTheWrongSizeIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> VhostUserDevice.connect(DeviceShape.fs("fs", 1), -1, BackendPeer.NONE, null, 1_000, new byte[36]));
    }
}
