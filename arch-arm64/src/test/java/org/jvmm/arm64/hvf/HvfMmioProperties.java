package org.jvmm.arm64.hvf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.jvmm.arm64.Arm64Platform;
import org.jvmm.core.run.Machine;
import org.jvmm.core.run.MachineExit;

/**
 * Random single-register loads and stores on MMIO, generated as machine code here (A64 encodings from the Arm
 * ARM, C6.2 LDR/STR/LDRS* "unsigned offset" and LDUR/STUR "unscaled"), run through the HVF backend on hvfsim:
 * each store must reach the device with the low bytes of Xt, and each load must leave in Xt exactly what the
 * architecture says (zero- or sign-extended, W or X) — the test's own model, independent of jvmm's decoder.
 * Every load's register is then stored (64-bit) back to the probe so the test can see it.
 */
class HvfMmioProperties {

    static final int BASE_REG = 9;

    /** One generated access: load or store, size in bytes, opc (LDR 1, LDRS to X 2, LDRS to W 3), Rt, form. */
    record Access(boolean store, int size, int opc, int rt, boolean unscaled) {}

    @BeforeContainer
    static void simulator() throws Exception {
        HvfSim.install();
    }

    @AfterContainer
    static void restore() {
        HvfSim.uninstall();
    }

    @Provide
    Arbitrary<Access> access() {
        Arbitrary<Integer> size = Arbitraries.of(1, 2, 4, 8);
        Arbitrary<Integer> rt = Arbitraries.integers().between(0, 31).filter(r -> r != BASE_REG);
        return Combinators.combine(Arbitraries.of(true, false), size, Arbitraries.integers().between(1, 3), rt,
                Arbitraries.of(true, false)).as((store, s, opc, r, unscaled) -> {
                    int o = store ? 0 : opc;
                    if (o == 3 && s >= 4) o = 2;          // no LDRS to W of 4 or 8 bytes
                    if (o == 2 && s == 8) o = 1;          // no LDRS to X of 8 bytes (that encoding is PRFM)
                    return new Access(store, s, o, r, unscaled);
                });
    }

    @Provide
    Arbitrary<List<Access>> accesses() {
        return access().list().ofMinSize(1).ofMaxSize(24);
    }

    /** What the probe answers at {@code offset}: distinct per access, high bit set in every byte width. */
    static long deviceValue(long offset) {
        return 0x8899aabbccddeeffL ^ (offset * 0x0101010101010101L);
    }

    /** The value this test puts in Xt before access i. */
    static long registerValue(int i) {
        return 0xf0e1d2c3b4a59687L + i * 0x1111111111111111L;
    }

    @Property(tries = 25)
    void loadsAndStoresOfEveryFormReachTheDeviceAndRegistersAsTheArchitectureSays(
            @ForAll("accesses") List<Access> accesses) throws Exception {
        List<Integer> code = new ArrayList<>();
        moveImmediate(code, BASE_REG, Probe.BASE);
        List<Probe.Access> expected = new ArrayList<>();
        for (int i = 0; i < accesses.size(); i++) {
            Access a = accesses.get(i);
            long offset = 8L * i;
            if (a.rt() != 31) moveImmediate(code, a.rt(), registerValue(i));
            code.add(loadStore(a, offset));
            long mask = a.size() == 8 ? -1L : (1L << (8 * a.size())) - 1;
            if (a.store()) {
                expected.add(new Probe.Access(true, offset, a.size(), a.rt() == 31 ? 0 : registerValue(i) & mask));
            } else {
                long device = deviceValue(offset) & mask;
                expected.add(new Probe.Access(false, offset, a.size(), device));
                if (a.rt() != 31) {
                    code.add(loadStore(new Access(true, 8, 0, a.rt(), false), 0x800 + 8L * i));
                    expected.add(new Probe.Access(true, 0x800 + 8L * i, 8, loaded(device, a.size(), a.opc())));
                }
            }
        }
        moveImmediate(code, 0, 0x8400_0008L); // PSCI SYSTEM_OFF
        code.add(0xd4000002);                   // HVC #0

        Probe probe = new Probe(HvfMmioProperties::deviceValue);
        MachineExit exit;
        try (Machine m = Machine.builder(new Arm64Platform()).kernel(image(code)).memory(32L << 20)
                .extension((vm, mmio, closeLater) -> {
                    mmio.register(Probe.BASE, Probe.SIZE, probe);
                    return List.of();
                }).build()) {
            exit = m.run();
        }
        assertEquals(0, exit.exitCode(), exit.reason());
        assertEquals(expected, probe.accesses());
    }

    /** The architecture's result in Xt: opc 1 zero-extends (W for sizes below 8), 2 sign-extends to X, 3 to W. */
    static long loaded(long device, int size, int opc) {
        BigInteger v = BigInteger.valueOf(device).and(BigInteger.ONE.shiftLeft(8 * size).subtract(BigInteger.ONE));
        if (opc >= 2 && v.testBit(8 * size - 1)) v = v.subtract(BigInteger.ONE.shiftLeft(8 * size));
        int width = opc == 3 ? 32 : 64;
        return v.and(BigInteger.ONE.shiftLeft(width).subtract(BigInteger.ONE)).longValue();
    }

    /** LDR/STR (unsigned offset, C6.2.x) or LDUR/STUR (unscaled) of {@code a} at [x9, #offset]. */
    static int loadStore(Access a, long offset) {
        int sizeBits = Integer.numberOfTrailingZeros(a.size());
        if (a.unscaled() && offset < 256) {
            return sizeBits << 30 | 0x38000000 | a.opc() << 22 | (int) offset << 12 | BASE_REG << 5 | a.rt();
        }
        return sizeBits << 30 | 0x39000000 | a.opc() << 22 | (int) (offset / a.size()) << 10 | BASE_REG << 5 | a.rt();
    }

    /** MOVZ + 3 MOVK: Xd = value. */
    static void moveImmediate(List<Integer> code, int rd, long value) {
        code.add(0xd2800000 | (int) (value & 0xffff) << 5 | rd);
        for (int hw = 1; hw < 4; hw++) {
            code.add(0xf2800000 | hw << 21 | (int) ((value >>> (16 * hw)) & 0xffff) << 5 | rd);
        }
    }

    /** A flat arm64 Image: the booting.rst header (branch to +64, magic) and the code after it. */
    static Path image(List<Integer> code) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(64 + 4 * code.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x14000010);                 // B +64
        b.putLong(0x10, b.capacity());           // image_size
        b.putLong(0x18, 0xa);                    // LE, 4 KiB pages, anywhere
        b.putInt(0x38, 0x644d5241);              // "ARM\x64"
        for (int i = 0; i < code.size(); i++) b.putInt(64 + 4 * i, code.get(i));
        Path file = Files.createTempFile("jvmm-mmio-", ".img");
        file.toFile().deleteOnExit();
        return Files.write(file, b.array());
    }
}
