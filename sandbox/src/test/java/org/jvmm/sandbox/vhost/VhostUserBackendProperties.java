package org.jvmm.sandbox.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.Empty;
import org.jvmm.sandbox.vhost.VhostUserPayload.MemoryTable;
import org.jvmm.sandbox.vhost.VhostUserPayload.Region;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringAddress;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringFile;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;
import org.jvmm.virtio.QueueWorker;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;

/**
 * Hostile conversations with the back-end: random sequences of well-formed messages with random (often
 * out-of-order, often plausible) values, real memfd memory full of garbage rings and real eventfds, so
 * rings really start and the virtio-blk device really walks hostile rings. Whatever the sequence,
 * {@link VhostUserBackend#serve()} returns (cleanly or naming a violation) within a hang guard; nothing
 * escapes as an exception.
 */
class VhostUserBackendProperties {

    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final long LOW_SIZE = 0x10000, HIGH = 0x100000, HIGH_SIZE = 0x10000;
    private static Path image;
    // Held strongly: java.util.logging keeps loggers only weakly, and a collected one forgets its level.
    private static final Logger BACKEND_LOG = Logger.getLogger(VhostUserBackend.class.getName());
    private static final Logger WORKER_LOG = Logger.getLogger(QueueWorker.class.getName());

    @BeforeContainer
    static void createImage() throws Exception {
        // A thousand violations would each log a line; the property checks the outcomes itself.
        BACKEND_LOG.setLevel(Level.OFF);
        WORKER_LOG.setLevel(Level.OFF);
        image = Files.createTempFile("vhost-prop", ".img");
        Files.write(image, new byte[64 * 1024]);
    }

    @AfterContainer
    static void deleteImage() throws Exception {
        BACKEND_LOG.setLevel(null);
        WORKER_LOG.setLevel(null);
        Files.deleteIfExists(image);
    }

    private static int dup(int fd) {
        return LinuxLibc.fcntl(fd, F_DUPFD_CLOEXEC, 0);
    }

    @Property(tries = 1_000)
    void randomConversationsEndServeWithoutEscapingOrHanging(@ForAll long seed) throws Exception {
        Random r = new Random(seed);
        try (GuestMemory guest = SharedGuestMemory.allocate(List.of(new MemoryRange(0, LOW_SIZE), new MemoryRange(HIGH, HIGH_SIZE)));
             EventFd kick = new EventFd(); EventFd call = new EventFd()) {
            // Garbage rings and descriptors: the device must refuse them, not trust them.
            byte[] noise = new byte[(int) LOW_SIZE];
            r.nextBytes(noise);
            for (int i = 0; i < noise.length; i++) if (r.nextInt(3) > 0) noise[i] = (byte) r.nextInt(4);
            guest.write(0, noise);
            List<Wire.Chunk> script = new ArrayList<>();
            List<MemoryRegion> regions = guest.regions();
            if (r.nextInt(4) > 0) {
                add(script, VhostUserRequest.SET_OWNER, new Empty());
                add(script, VhostUserRequest.SET_PROTOCOL_FEATURES, new U64(VhostUserBackend.PROTOCOL_FEATURES));
                long f = VirtioFeatures.bit(VirtioFeatures.VERSION_1) | (r.nextBoolean() ? 1L << VhostUserBackend.F_PROTOCOL_FEATURES : 0)
                        | (r.nextBoolean() ? VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) : 0)
                        | (r.nextBoolean() ? VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) : 0);
                add(script, VhostUserRequest.SET_FEATURES, new U64(f));
                add(script, VhostUserRequest.SET_MEM_TABLE, new MemoryTable(List.of(region(regions.get(0)), region(regions.get(1)))),
                        dup(regions.get(0).fd()), dup(regions.get(1).fd()));
            }
            for (int i = 0, n = r.nextInt(25); i < n; i++) script.add(randomStep(r, regions, kick, call));
            String outcome;
            try (VirtioBlock device = new VirtioBlock(DiskImage.open(image, false), "prop")) {
                VhostUserBackend backend = new VhostUserBackend(device, new ScriptedWire(script));
                CompletableFuture<String> served = CompletableFuture.supplyAsync(backend::serve, t -> Thread.ofPlatform().daemon().start(t));
                outcome = served.handle((v, t) -> t != null ? "threw " + t : v == null ? "clean" : "violation").get(20, TimeUnit.SECONDS);
                // Which message ended the conversation: shows the generator reaches running rings.
                String why = served.getNow("?");
                Statistics.label("ended by").collect(why == null ? "EOF" : why.split("[ :]")[0]);
            }
            assertTrue(outcome.equals("clean") || outcome.equals("violation"), "serve() " + outcome);
            Statistics.label("outcome").collect(outcome);
        }
    }

    private static Region region(MemoryRegion m) {
        return new Region(m.guestAddress(), m.size(), m.segment().address(), m.fdOffset());
    }

    private static void add(List<Wire.Chunk> script, VhostUserRequest r, VhostUserPayload p, int... fds) {
        script.add(new Wire.Chunk(VhostUserCodec.request(r, VhostUserCodec.VERSION, p), fds));
    }

    /** One message with values drawn near the interesting boundaries. */
    private static Wire.Chunk randomStep(Random r, List<MemoryRegion> regions, EventFd kick, EventFd call) {
        int index = r.nextInt(8) == 0 ? r.nextInt(300) : 0;
        long base = regions.get(0).segment().address();
        VhostUserRequest req;
        VhostUserPayload p;
        int[] fds = new int[0];
        switch (r.nextInt(12)) {
            case 0 -> { req = VhostUserRequest.SET_VRING_NUM; p = new VringState(index, r.nextBoolean() ? 1L << r.nextInt(10) : r.nextInt(1000)); }
            case 1 -> {
                req = VhostUserRequest.SET_VRING_ADDR;
                long[] a = new long[3];
                for (int i = 0; i < 3; i++) a[i] = r.nextInt(5) == 0 ? r.nextLong() : base + (r.nextInt((int) LOW_SIZE + 64) & ~0xf);
                p = new VringAddress(index, r.nextInt(6) == 0 ? r.nextInt(4) : 0, a[0], a[1], a[2], 0);
            }
            case 2 -> { req = VhostUserRequest.SET_VRING_BASE; p = new VringState(index, r.nextInt(4) == 0 ? r.nextInt() & 0xffffffffL : r.nextInt(16)); }
            case 3, 4 -> { req = VhostUserRequest.SET_VRING_KICK; p = new VringFile(index, r.nextInt(8) == 0); fds = ((VringFile) p).noFd() ? fds : new int[] {dup(kick.fd())}; }
            case 5 -> { req = VhostUserRequest.SET_VRING_CALL; p = new VringFile(index, r.nextInt(4) == 0); fds = ((VringFile) p).noFd() ? fds : new int[] {dup(call.fd())}; }
            case 6 -> { req = VhostUserRequest.SET_VRING_ENABLE; p = new VringState(index, r.nextInt(3)); }
            case 7 -> { req = VhostUserRequest.GET_VRING_BASE; p = new VringState(index, 0); }
            case 8 -> {
                int size = r.nextInt(70);
                req = r.nextBoolean() ? VhostUserRequest.GET_CONFIG : VhostUserRequest.SET_CONFIG;
                p = new Config(r.nextInt(VhostUserCodec.MAX_CONFIG_SIZE - size + 1), 0, new byte[size]);
            }
            case 9 -> {
                req = VhostUserRequest.SET_MEM_TABLE;
                MemoryRegion m = regions.get(r.nextInt(2));
                long size = r.nextBoolean() ? m.size() : r.nextInt(3) * 0x1000L + 0x1000;
                p = new MemoryTable(List.of(new Region(r.nextBoolean() ? m.guestAddress() : r.nextLong(), size,
                        r.nextBoolean() ? m.segment().address() : r.nextLong(), r.nextInt(4) == 0 ? r.nextInt(3) * 0x1000L : 0)));
                fds = new int[] {dup(m.fd())};
            }
            case 10 -> { req = r.nextBoolean() ? VhostUserRequest.RESET_DEVICE : VhostUserRequest.RESET_OWNER; p = new Empty(); }
            default -> {
                // A guest kick while the ring may run: the device walks the garbage ring.
                kick.signal();
                req = VhostUserRequest.GET_FEATURES;
                p = new Empty();
            }
        }
        int flags = VhostUserCodec.VERSION | (r.nextBoolean() ? VhostUserCodec.FLAG_NEED_REPLY : 0);
        return new Wire.Chunk(VhostUserCodec.request(req, flags, p), fds);
    }
}
