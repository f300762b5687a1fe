package org.jvmm.virtio.mmio;

import static org.jvmm.virtio.DeviceStatus.*;
import static org.jvmm.virtio.mmio.VirtioMmioRegisters.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;
import org.jvmm.virtio.GuestRam;
import org.jvmm.virtio.InProcessNotifier;
import org.jvmm.virtio.VirtioFeatures;

/**
 * Action sequences against the virtio-mmio transport, checked after every step against a model written
 * from the specification's rules (§2.1, §3.1.1, §4.2.2): the status state machine, feature negotiation,
 * queue-register freezing, NEEDS_RESET and the interrupt line.
 */
class TransportStateMachineProperties {

    static final long BASE = 0x10000, RAM = 0x10000;
    static final int QUEUES = 2, MAX = 64;

    /** Thousands of deliberate device errors: keep their warnings out of the build log. */
    private static final java.util.logging.Logger QUIET = java.util.logging.Logger.getLogger(VirtioMmioTransport.class.getName());

    static {
        QUIET.setLevel(java.util.logging.Level.SEVERE);
    }

    /** The system under test and the model side by side. */
    static final class State {
        final GuestRam ram = new GuestRam(BASE, RAM);
        final FakeDevice device = new FakeDevice(QUEUES);
        final LevelIrq irq = new LevelIrq();
        final VirtioMmioTransport t = new VirtioMmioTransport("model", device, ram.memory, irq,
                List.of(new InProcessNotifier(), new InProcessNotifier()));

        // The model.
        int status;
        long driverFeatures;
        int driverFeaturesSel;
        int queueSel;
        final int[] size = {MAX, MAX};
        final boolean[] ready = new boolean[QUEUES];
        final long[][] addr = new long[QUEUES][3];
        int interrupt;
        int activations;
        boolean activeContext;

        boolean has(int bit) { return (status & bit) != 0; }

        void writeStatus(int v) {
            t.write(STATUS, 4, v);
            if (v == 0) {
                resetModel();
                return;
            }
            int held = status & ~DEVICE_NEEDS_RESET;
            int want = v & ~DEVICE_NEEDS_RESET;
            if ((want & ~(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK | FAILED)) != 0) return;
            if ((want & held) != held) return;
            int next = held;
            if ((want & ACKNOWLEDGE) != 0) next |= ACKNOWLEDGE;
            if ((want & DRIVER) != 0 && (next & ACKNOWLEDGE) != 0) next |= DRIVER;
            boolean acceptable = (driverFeatures & ~FakeDevice.FEATURES) == 0
                    && VirtioFeatures.has(driverFeatures, VirtioFeatures.VERSION_1);
            if ((want & FEATURES_OK) != 0 && (next & DRIVER) != 0 && acceptable) next |= FEATURES_OK;
            boolean start = (want & DRIVER_OK) != 0 && (held & DRIVER_OK) == 0 && (next & FEATURES_OK) != 0
                    && !has(DEVICE_NEEDS_RESET);
            if (start) next |= DRIVER_OK;
            if ((want & FAILED) != 0) next |= FAILED;
            status = next | (status & DEVICE_NEEDS_RESET);
            if (start) {
                activations++;
                activeContext = true;
            }
        }

        void resetModel() {
            status = 0;
            driverFeatures = 0;
            driverFeaturesSel = 0;
            queueSel = 0;
            for (int i = 0; i < QUEUES; i++) {
                size[i] = MAX;
                ready[i] = false;
                addr[i] = new long[3];
            }
            interrupt = 0;
            activeContext = false;
        }

        void writeDriverFeatures(int sel, int value) {
            t.write(DRIVER_FEATURES_SEL, 4, sel);
            t.write(DRIVER_FEATURES, 4, value);
            driverFeaturesSel = sel;
            if (!has(DRIVER) || has(FEATURES_OK)) return;
            long v = Integer.toUnsignedLong(value);
            if (sel == 0) driverFeatures = (driverFeatures & ~0xffffffffL) | v;
            if (sel == 1) driverFeatures = (driverFeatures & 0xffffffffL) | (v << 32);
        }

        boolean queueWritable() {
            return queueSel >= 0 && queueSel < QUEUES && !ready[queueSel] && !has(DRIVER_OK);
        }

        void selectQueue(int q) {
            t.write(QUEUE_SEL, 4, q);
            queueSel = q;
        }

        void writeQueueNum(int n) {
            t.write(QUEUE_NUM, 4, n);
            if (queueWritable()) size[queueSel] = n;
        }

        void writeQueueAddress(int part, long address) {
            int low = switch (part) { case 0 -> QUEUE_DESC_LOW; case 1 -> QUEUE_DRIVER_LOW; default -> QUEUE_DEVICE_LOW; };
            t.write(low, 4, address & 0xffffffffL);
            t.write(low + 4, 4, address >>> 32);
            if (queueWritable()) addr[queueSel][part] = address;
        }

        boolean validQueue(int q) {
            int n = size[q];
            if (n <= 0 || n > MAX || Integer.bitCount(n) != 1) return false;
            return inRam(addr[q][0], 16L * n, 16) && inRam(addr[q][1], 6 + 2L * n, 2) && inRam(addr[q][2], 6 + 8L * n, 4);
        }

        static boolean inRam(long a, long len, int align) {
            return a % align == 0 && a >= BASE && a + len <= BASE + RAM;
        }

        void writeQueueReady(int v) {
            t.write(QUEUE_READY, 4, v);
            if (queueSel < 0 || queueSel >= QUEUES || has(DRIVER_OK)) return;
            if (v == 0) ready[queueSel] = false;
            else if (v == 1 && !ready[queueSel]) {
                if (validQueue(queueSel)) ready[queueSel] = true;
                else needsReset();
            }
        }

        void needsReset() {
            if (has(DEVICE_NEEDS_RESET)) return;
            status |= DEVICE_NEEDS_RESET;
            if (has(DRIVER_OK)) interrupt |= INTERRUPT_CONFIG_CHANGE;
        }

        void deviceFails() {
            if (device.context != null) device.context.fail("model says so");
            if (activeContext) needsReset();
        }

        void deviceUsesBuffers() {
            if (device.context != null) device.context.signalUsed();
            if (activeContext) interrupt |= INTERRUPT_USED_BUFFER;
        }

        void acknowledge(int bits) {
            t.write(INTERRUPT_ACK, 4, bits);
            interrupt &= ~bits;
        }

        void check() {
            assertEquals(status, (int) t.read(STATUS, 4), "Status");
            assertEquals(interrupt, (int) t.read(INTERRUPT_STATUS, 4), "InterruptStatus");
            assertEquals(interrupt != 0, irq.level, "interrupt line level");
            assertEquals(activations, device.activations, "activations");
            assertEquals(activeContext, device.context != null, "device running");
            int sel = queueSel;
            boolean selValid = sel >= 0 && sel < QUEUES;
            assertEquals(selValid && ready[sel] ? 1 : 0, t.read(QUEUE_READY, 4), "QueueReady");
            assertEquals(selValid ? MAX : 0, t.read(QUEUE_NUM_MAX, 4), "QueueNumMax");
            assertEquals(0x74726976L, t.read(MAGIC_VALUE, 4));
            if (device.context != null) {
                assertEquals(driverFeatures, device.context.features(), "negotiated features");
                for (var q : device.context.queues()) {
                    assertTrue(ready[q.index()]);
                    assertEquals(size[q.index()], q.queue().layout().size());
                    assertEquals(addr[q.index()][0], q.queue().layout().descriptorTable());
                }
                assertEquals(countReady(), device.context.queues().size());
            }
        }

        long countReady() {
            long n = 0;
            for (boolean r : ready) if (r) n++;
            return n;
        }

        @Override
        public String toString() {
            return "status=0x" + Integer.toHexString(status) + " features=0x" + Long.toHexString(driverFeatures);
        }
    }

    static <T> Action.Independent<State> action(Arbitrary<T> values, String name, java.util.function.BiConsumer<State, T> effect) {
        return () -> values.map(v -> Transformer.mutate(name + " " + v, s -> effect.accept(s, v)));
    }

    @Provide
    Arbitrary<ActionChain<State>> sequences() {
        int all = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK;
        Arbitrary<Integer> statuses = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Arbitraries.of(ACKNOWLEDGE, ACKNOWLEDGE | DRIVER, ACKNOWLEDGE | DRIVER | FEATURES_OK, all)),
                net.jqwik.api.Tuple.of(1, Arbitraries.of(0, FAILED, all | FAILED, all | DEVICE_NEEDS_RESET, DRIVER_OK, 0x10, 0x100)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers()));
        long offered = FakeDevice.FEATURES;
        Arbitrary<int[]> features = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Arbitraries.of(new int[] {0, (int) offered}, new int[] {1, (int) (offered >>> 32)},
                        new int[] {1, 1}, new int[] {0, 0b100})),
                net.jqwik.api.Tuple.of(1, Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers())
                        .as((sel, v) -> new int[] {sel, v})));
        Arbitrary<Long> addresses = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(5, Arbitraries.of(BASE, BASE + 0x1000, BASE + 0x2000, BASE + 0x4000)),
                net.jqwik.api.Tuple.of(1, Arbitraries.of(0L, BASE + 2, BASE + RAM - 16, -16L, 1L << 40)),
                net.jqwik.api.Tuple.of(1, Arbitraries.longs()));
        return ActionChain.<State>startWith(State::new)
                .withAction(3, action(statuses, "status", State::writeStatus))
                .withAction(2, action(features, "features", (s, f) -> s.writeDriverFeatures(f[0], f[1])))
                .withAction(action(Arbitraries.of(0, 1, 2, -1), "select", State::selectQueue))
                .withAction(action(Arbitraries.of(1, 8, 16, 64, 3, 128, 0), "num", State::writeQueueNum))
                .withAction(2, action(Combinators.combine(Arbitraries.integers().between(0, 2), addresses).as(List::of),
                        "address", (s, pa) -> s.writeQueueAddress((Integer) pa.get(0), (Long) pa.get(1))))
                .withAction(2, action(Arbitraries.of(0, 1, 1, 2), "ready", State::writeQueueReady))
                .withAction(action(Arbitraries.just(0), "device fails", (s, x) -> s.deviceFails()))
                .withAction(action(Arbitraries.just(0), "device uses buffers", (s, x) -> s.deviceUsesBuffers()))
                .withAction(action(Arbitraries.of(1, 2, 3, 0), "ack", State::acknowledge))
                .withMaxTransformations(40);
    }

    @Property(tries = 3000)
    void transportFollowsTheModel(@ForAll("sequences") ActionChain<State> chain) {
        State end = chain.withInvariant("registers match the model", State::check).run();
        net.jqwik.api.statistics.Statistics.label("activations").collect(Math.min(end.activations, 3));
        net.jqwik.api.statistics.Statistics.label("ended in NEEDS_RESET").collect(end.has(DEVICE_NEEDS_RESET));
        end.ram.close();
    }
}
