package org.jvmm.sandbox.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
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

/**
 * jvmm's front-end against a back-end that answers one of its requests with arbitrary bytes (or hangs
 * up there), over a real socket: the handshake either succeeds or is one ConfigurationException, an
 * activation and reset either work or end in exactly one NEEDS_RESET, and nothing else ever escapes or
 * hangs (each reply wait is bounded by a short timeout here).
 */
class HostileBackendProperties {

    @Provide
    Arbitrary<byte[]> garbage() {
        return Arbitraries.oneOf(
                Arbitraries.bytes().array(byte[].class).ofMaxSize(40),
                // A well-formed header for a reply of some size, with random bytes after it.
                Arbitraries.integers().between(0, 40).flatMap(code -> Arbitraries.integers().between(0, 15).flatMap(flags ->
                        Arbitraries.integers().between(0, 80).flatMap(size -> Arbitraries.bytes().array(byte[].class).ofSize(size).map(body -> {
                            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(12 + body.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                            return b.putInt(code).putInt(flags).putInt(body.length).put(body).array();
                        })))));
    }

    @Property(tries = 60)
    void anyReplyIsAcceptedRefusedOrTimedOutNeverWorse(@ForAll @IntRange(max = 6) int victim, @ForAll("garbage") byte[] reply,
                                                       @ForAll boolean hangUp) throws Exception {
        AtomicInteger replies = new AtomicInteger();
        int[] pair = LinuxLibc.socketpair(LinuxLibc.AF_UNIX, LinuxLibc.SOCK_STREAM | LinuxLibc.SOCK_CLOEXEC, 0);
        Thread.ofPlatform().daemon().start(() -> {
            SocketWire wire = new SocketWire(pair[1]);
            try (wire) {
                while (true) {
                    Optional<VhostUserMessage> m = VhostUserCodec.read(wire, VhostUserCodec.MAX_REGIONS);
                    if (m.isEmpty()) return;
                    for (int fd : m.get().fds()) wire.closeFd(fd);
                    Optional<byte[]> proper = proper(m.get());
                    if (proper.isEmpty()) continue;
                    if (replies.getAndIncrement() == victim) {
                        if (hangUp) return;
                        wire.send(reply);
                    } else {
                        wire.send(proper.get());
                    }
                }
            } catch (Exception e) {
                // the back-end's own trouble is not under test
            }
        });
        VhostUserDevice device;
        try {
            device = VhostUserDevice.connect(DeviceShape.block("hostile"), pair[0], BackendPeer.NONE, null, 300);
        } catch (ConfigurationException refused) {
            return;
        }
        try (device; GuestMemory memory = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 1 << 20))); EventFd kick = new EventFd()) {
            FrontendTestAccess.Driver driver = FrontendTestAccess.blockDriver(memory, kick);
            device.activate(driver.context());
            device.reset();
            device.activate(driver.context());
            device.reset();
            assertTrue(driver.failures().size() <= 2, driver.failures().toString());
            if (device.lostReason() != null) {
                assertTrue(driver.failures().size() >= 1, "a lost back-end was reported to the driver");
            } else {
                assertEquals(0, driver.failures().size(), driver.failures().toString());
            }
        }
    }

    /** What a well-behaved back-end without REPLY_ACK answers (nothing for requests without a reply). */
    private static Optional<byte[]> proper(VhostUserMessage m) {
        VhostUserPayload reply = switch (m.request()) {
            case GET_FEATURES -> new U64(VirtioBit.VERSION_1 | (1L << VhostUserBackend.F_PROTOCOL_FEATURES));
            case GET_PROTOCOL_FEATURES -> new U64((1L << VhostUserBackend.PF_CONFIG) | (1L << VhostUserBackend.PF_MQ));
            case GET_QUEUE_NUM -> new U64(1);
            case GET_CONFIG -> new Config(0, 0, new byte[60]);
            case GET_VRING_BASE -> new VringState(((VringState) m.payload()).index(), 0);
            default -> null;
        };
        return Optional.ofNullable(reply).map(r -> VhostUserCodec.reply(m.request(), r));
    }

    private static final class VirtioBit {
        static final long VERSION_1 = 1L << 32;
    }
}
