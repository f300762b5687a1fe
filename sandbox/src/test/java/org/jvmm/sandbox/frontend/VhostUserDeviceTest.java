package org.jvmm.sandbox.frontend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.PipeNotifier;
import org.jvmm.core.sys.linux.EventFd;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.sandbox.vhost.SocketWire;
import org.jvmm.sandbox.vhost.VhostUserBackend;
import org.jvmm.sandbox.vhost.VhostUserCodec;
import org.jvmm.sandbox.vhost.VhostUserMessage;
import org.jvmm.sandbox.vhost.VhostUserPayload;
import org.jvmm.sandbox.vhost.VhostUserPayload.Config;
import org.jvmm.sandbox.vhost.VhostUserPayload.U64;
import org.jvmm.sandbox.vhost.VhostUserPayload.VringState;
import org.jvmm.sandbox.vhost.VhostUserRequest;
import org.jvmm.virtio.ActiveQueue;
import org.jvmm.virtio.VirtioFeatures;
import org.jvmm.virtio.blk.DiskImage;
import org.jvmm.virtio.blk.VirtioBlock;
import org.jvmm.virtio.queue.SplitQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * jvmm's vhost-user front-end against jvmm's own back-end (in this JVM, over a socket pair) serving a
 * real virtio-blk on a file, and against scripted back-ends that misbehave. The front-end stands where
 * the virtio-mmio transport would call it; the test plays the driver on a ring in memfd guest memory.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserDeviceTest {

    static final long VERSION_1 = VirtioFeatures.bit(VirtioFeatures.VERSION_1);

    @TempDir Path dir;
    final GuestMemory memory = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 1 << 20)));
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void release() throws Exception {
        for (AutoCloseable c : toClose.reversed()) c.close();
        memory.close();
    }

    private FakeContext activation(EventNotifier kick) throws Exception {
        SplitQueue q = new SplitQueue(memory, BlockRing.layout(), 256, false, false);
        return new FakeContext(memory, VERSION_1, List.of(new ActiveQueue(0, q, kick)));
    }

    /**
     * With eventfds (KVM's ioeventfd for the kick, eventfds for the calls: Linux) and with pipes (the kick a
     * pipe the transport writes on each QueueNotify exit, the calls pipes whose write ends the back-end gets:
     * macOS, and Hypervisor.framework anywhere).
     */
    @ParameterizedTest(name = "pipes: {0}")
    @ValueSource(booleans = {false, true})
    void requestsReachTheBackEndThroughTheKickDescriptorAndCallsBecomeInterrupts(boolean pipes) throws Exception {
        byte[] initial = new byte[64 * 512];
        Arrays.fill(initial, (byte) 0x5c);
        Path image = Files.write(dir.resolve("disk.img"), initial);
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        VirtioBlock block = new VirtioBlock(DiskImage.open(image, false));
        CompletableFuture<String> served = CompletableFuture.supplyAsync(() -> {
            try (block; VhostUserBackend b = new VhostUserBackend(block, new SocketWire(pair[1]))) {
                return String.valueOf(b.serve());
            }
        });
        VhostUserDevice device = pipes
                ? VhostUserDevice.connect(DeviceShape.block("blk-test"), pair[0], BackendPeer.NONE, null, 15_000, PipeNotifier::new)
                : VhostUserDevice.connect(DeviceShape.block("blk-test"), pair[0], BackendPeer.NONE, null, 15_000);

        assertEquals(block.features() & VhostUserDevice.GUEST_VISIBLE_FEATURES, device.features(), "the back-end's offer, without vhost-user's own bits");
        assertEquals(64, device.readConfig(0, 8), "capacity in sectors, from GET_CONFIG");

        EventNotifier kick = pipes ? new PipeNotifier() : new EventFd();
        toClose.add(kick);
        for (int round = 0; round < 2; round++) {
            // Twice: the second time after a device reset (GET_VRING_BASE, RESET_DEVICE) and a new activation.
            BlockRing ring = new BlockRing(memory);
            FakeContext context = activation(kick);
            device.activate(context);
            byte[] data = new byte[512];
            Arrays.fill(data, (byte) (0x10 + round));
            memory.write(BlockRing.DATA, data);
            ring.submit(BlockRing.T_OUT, 3 + round, 512);
            kick.signal();
            assertTrue(context.used.tryAcquire(30, TimeUnit.SECONDS), "no used-buffer interrupt from the back-end");
            assertEquals(1, ring.usedIdx());
            assertEquals(0, ring.status(), "VIRTIO_BLK_S_OK");
            ring.submit(BlockRing.T_FLUSH, 0, 0);
            kick.signal();
            assertTrue(context.used.tryAcquire(30, TimeUnit.SECONDS), "no interrupt for the flush");
            assertEquals(2, ring.usedIdx());
            assertEquals(0, ring.status());
            assertTrue(context.failures.isEmpty(), context.failures.toString());
            device.reset();
            byte[] file = Files.readAllBytes(image);
            assertArrayEquals(data, Arrays.copyOfRange(file, (3 + round) * 512, (4 + round) * 512), "sector written in round " + round);
        }
        assertNull(device.lostReason());
        device.close();
        assertEquals("null", served.get(30, TimeUnit.SECONDS), "the back-end saw a clean disconnect");
    }

    /** A back-end played by a script: {@code answer} gives the reply bytes for each request (empty: none), or null to hang up. */
    private int scriptedBackend(Function<VhostUserMessage, Optional<byte[]>> answer) {
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        Thread.ofPlatform().daemon().start(() -> {
            SocketWire wire = new SocketWire(pair[1]);
            try (wire) {
                while (true) {
                    Optional<VhostUserMessage> m = VhostUserCodec.read(wire, VhostUserCodec.MAX_REGIONS);
                    if (m.isEmpty()) return;
                    for (int fd : m.get().fds()) wire.closeFd(fd);
                    Optional<byte[]> reply = answer.apply(m.get());
                    if (reply == null) return;
                    if (reply.isPresent()) wire.send(reply.get());
                }
            } catch (Exception e) {
                // the test's assertions are on the front-end's side
            }
        });
        return pair[0];
    }

    /** Answers as a well-behaved back-end without REPLY_ACK would, for a 60-byte config space. */
    private static Optional<byte[]> wellBehaved(VhostUserMessage m) {
        VhostUserPayload reply = switch (m.request()) {
            case GET_FEATURES -> new U64(VERSION_1 | (1L << VhostUserBackend.F_PROTOCOL_FEATURES));
            case GET_PROTOCOL_FEATURES -> new U64(1L << VhostUserBackend.PF_CONFIG);
            case GET_CONFIG -> new Config(0, 0, new byte[60]);
            case GET_VRING_BASE -> new VringState(((VringState) m.payload()).index(), 0);
            default -> null;
        };
        return Optional.ofNullable(reply).map(r -> VhostUserCodec.reply(m.request(), r));
    }

    @Test
    void aMalformedReplyLosesTheDeviceOnceAndItStaysLostAcrossResets() throws Exception {
        int socket = scriptedBackend(m -> m.request() == VhostUserRequest.GET_VRING_BASE
                ? Optional.of(VhostUserCodec.reply(m.request(), new VringState(7, 0))) // the wrong ring
                : wellBehaved(m));
        List<String> lost = new ArrayList<>();
        VhostUserDevice device = VhostUserDevice.connect(DeviceShape.block("blk-test"), socket, BackendPeer.NONE, lost::add, 15_000);
        toClose.add(device);
        EventFd kick = new EventFd();
        toClose.add(kick);
        new BlockRing(memory);
        FakeContext first = activation(kick);
        device.activate(first);
        assertTrue(first.failures.isEmpty(), first.failures.toString());
        device.reset();
        assertNotNull(device.lostReason());
        assertTrue(device.lostReason().contains("GET_VRING_BASE reply for ring 7"), device.lostReason());
        assertEquals(1, lost.size(), "the loss is reported once: " + lost);

        FakeContext second = activation(kick);
        device.activate(second);
        assertEquals(1, second.failures.size(), "a new activation of a lost device fails at once (NEEDS_RESET)");
        device.reset();
        assertEquals(1, lost.size(), lost.toString());
    }

    @Test
    void aBackEndThatHangsUpWhileRunningMakesTheDriverSeeNeedsReset() throws Exception {
        int socket = scriptedBackend(m -> m.request() == VhostUserRequest.SET_VRING_ENABLE ? null : wellBehaved(m));
        VhostUserDevice device = VhostUserDevice.connect(DeviceShape.block("blk-test"), socket, BackendPeer.NONE, null, 15_000);
        toClose.add(device);
        EventFd kick = new EventFd();
        toClose.add(kick);
        new BlockRing(memory);
        FakeContext context = activation(kick);
        device.activate(context);
        assertTrue(context.failed.tryAcquire(30, TimeUnit.SECONDS), "the hang-up never reached the driver");
        assertEquals(1, context.failures.size(), context.failures.toString());
        assertTrue(context.failures.getFirst().contains("closed"), context.failures.toString());
        device.reset(); // returns at once: nothing is asked of a lost back-end
    }

    @Test
    void aHandshakeWithAGarbledReplyIsOneSentence() {
        int socket = scriptedBackend(m -> m.request() == VhostUserRequest.GET_FEATURES
                ? Optional.of(new byte[] {1, 0, 0, 0, 0xd, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
                : wellBehaved(m));
        var e = assertThrows(ConfigurationException.class,
                () -> VhostUserDevice.connect(DeviceShape.block("blk-test"), socket, BackendPeer.NONE, null, 15_000));
        assertTrue(e.getMessage().contains("flags 0xd"), e.getMessage());
        assertTrue(e.getMessage().endsWith("or run with --sandbox=none."), e.getMessage());
    }

    @Test
    void aBackEndThatNeverAnswersTimesOutInsteadOfHanging() {
        int socket = scriptedBackend(m -> Optional.empty()); // swallows GET_FEATURES
        var e = assertThrows(ConfigurationException.class,
                () -> VhostUserDevice.connect(DeviceShape.block("blk-test"), socket, BackendPeer.NONE, null, 500));
        assertTrue(e.getMessage().contains("no reply from the back-end within 500 ms"), e.getMessage());
    }
}
