package org.jvmm.virtio.net;

import static org.junit.jupiter.api.Assertions.*;
import static org.jvmm.virtio.queue.SplitQueue.VIRTQ_DESC_F_WRITE;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TAP backend's offload plumbing, with the simulated driver of {@link NetDriver}: a UDP datagram
 * sent by a network namespace's kernel to the guest arrives with its checksum left to the guest
 * (NEEDS_CSUM, csum_start at the UDP header) only when the driver negotiated GUEST_CSUM, and fully
 * checksummed (flags 0) when it did not, so TUNSETOFFLOAD follows the negotiation. Needs root.
 */
@Timeout(120)
class TapOffloadTest extends NetDriver {

    @TempDir Path tmp;
    final String namespace = "jvmm-tapo-" + ProcessHandle.current().pid();
    final String tap = "jvo" + ProcessHandle.current().pid() % 100000;
    boolean namespaceCreated;

    @AfterEach
    void dropNamespace() throws Exception {
        if (namespaceCreated) sh("ip", "netns", "del", namespace);
    }

    String sh(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), command[0] + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + log);
        return log;
    }

    /** A TAP device for the test's device, moved into a namespace as 10.99.0.1, the guest's MAC known at 10.99.0.2. */
    void tapInNamespace() throws Exception {
        VirtioNetKvmTest.require(Files.exists(Path.of("/dev/net/tun")), "/dev/net/tun is missing");
        VirtioNetKvmTest.require("root".equals(System.getProperty("user.name")), "network namespaces need root");
        sh("ip", "netns", "add", namespace);
        namespaceCreated = true;
        device(TapBackend.open(tap));
        sh("ip", "link", "set", tap, "netns", namespace);
        sh("ip", "-n", namespace, "addr", "add", "10.99.0.1/24", "dev", tap);
        sh("ip", "-n", namespace, "link", "set", tap, "up");
        sh("ip", "-n", namespace, "neigh", "add", "10.99.0.2", "lladdr", MAC.toString(), "dev", tap);
    }

    /** Posts buffers, has the namespace send one UDP datagram to the guest, and returns the received header + frame. */
    byte[] receiveUdp() throws Exception {
        for (int d = 0; d < QSIZE; d++) postReceive(d, BUFFERS + d * 0x10000L, 0x10000);
        String payload = "offload-probe";
        sh("ip", "netns", "exec", namespace, "bash", "-c", "echo -n " + payload + " > /dev/udp/10.99.0.2/9");
        // Other frames (IPv6 neighbour discovery) may come first: find the UDPv4 one.
        for (int i = 0; i < QSIZE; i++) {
            while (rx.usedIdx() < i + 1) Thread.sleep(1); // frames may arrive several at a time
            byte[] got = ram.memory.readBytes(BUFFERS + rx.usedId(i) * 0x10000L, (int) rx.usedLen(i));
            int ip = 12 + 14;
            if (got[12 + 12] == 0x08 && got[12 + 13] == 0x00 && got[ip + 9] == 17) {
                assertTrue(new String(got, StandardCharsets.US_ASCII).endsWith(payload));
                return got;
            }
        }
        throw new AssertionError("no UDP frame among " + QSIZE);
    }

    @Test
    void withGuestCsumTheChecksumIsLeftToTheGuest() throws Exception {
        tapInNamespace();
        start(1 << NetFeatures.MAC | 1 << NetFeatures.CSUM | 1 << NetFeatures.GUEST_CSUM);
        byte[] got = receiveUdp();
        VirtioNetHeader h = VirtioNetHeader.decode(got);
        assertEquals(VirtioNetHeader.F_NEEDS_CSUM, h.flags() & VirtioNetHeader.F_NEEDS_CSUM, h.toString());
        assertEquals(14 + 20, h.csumStart(), h.toString());
        assertEquals(6, h.csumOffset(), h.toString());
        assertEquals(1, h.numBuffers());
    }

    @Test
    void withoutGuestCsumTheFrameIsComplete() throws Exception {
        tapInNamespace();
        start(1 << NetFeatures.MAC);
        byte[] got = receiveUdp();
        VirtioNetHeader h = VirtioNetHeader.decode(got);
        assertEquals(0, h.flags(), h.toString());
        assertEquals(VirtioNetHeader.GSO_NONE, h.gsoType());
        // The UDP checksum is there and right: the one's-complement sum over the pseudo-header and datagram is 0xffff.
        byte[] f = Arrays.copyOfRange(got, 12, got.length);
        int udp = 14 + 20, udpLength = ((f[udp + 4] & 0xff) << 8) | (f[udp + 5] & 0xff);
        long sum = 17 + udpLength;
        for (int i = 26; i < 34; i += 2) sum += ((f[i] & 0xff) << 8) | (f[i + 1] & 0xff);
        for (int i = 0; i < udpLength; i += 2) sum += ((f[udp + i] & 0xff) << 8) | (i + 1 < udpLength ? f[udp + i + 1] & 0xff : 0);
        while (sum >> 16 != 0) sum = (sum & 0xffff) + (sum >> 16);
        assertEquals(0xffff, sum, "UDP checksum");
    }
}
