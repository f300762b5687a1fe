package org.jvmm.arm64.psci;

import static org.junit.jupiter.api.Assertions.*;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** PSCI per function and return code; IDs and codes as in Linux's uapi/linux/psci.h (written out here by hand). */
class PsciTest {

    /** Three vCPUs: 0 and 1 in cluster 0, the third in cluster 1 (Aff1 = 1). */
    private static final long[] MPIDRS = {0x000, 0x001, 0x100};

    private static Psci psci() {
        // Valid entry points: 4-byte aligned addresses in [0x40000000, 0x60000000).
        return new Psci(MPIDRS, e -> (e & 3) == 0 && e >= 0x4000_0000L && e < 0x6000_0000L);
    }

    private static long x0(PsciResult r) {
        assertInstanceOf(PsciAction.Resume.class, r.action());
        return r.x0();
    }

    @Test
    void versionIsOnePointZero() {
        assertEquals(0x10000, x0(psci().call(0, 0x8400_0000L, 0, 0, 0)));
    }

    @Test
    void functionIdIsW0() {
        // The upper half of X0 is not part of an SMC32 function ID.
        assertEquals(0x10000, x0(psci().call(0, 0xdead_beef_8400_0000L, 0, 0, 0)));
    }

    @Test
    void featuresReportsImplementedFunctions() {
        Psci p = psci();
        for (long fn : new long[] {0x8400_0000L, 0x8400_0002L, 0x8400_0003L, 0xC400_0003L, 0x8400_0004L, 0xC400_0004L,
                0x8400_0006L, 0x8400_0008L, 0x8400_0009L, 0x8400_000AL}) {
            assertEquals(0, x0(p.call(0, 0x8400_000AL, fn, 0, 0)), Long.toHexString(fn));
        }
        // CPU_SUSPEND, MIGRATE, SYSTEM_SUSPEND, SMCCC_VERSION: not implemented.
        for (long fn : new long[] {0x8400_0001L, 0xC400_0001L, 0x8400_0005L, 0x8400_000EL, 0x8000_0000L}) {
            assertEquals(-1, x0(p.call(0, 0x8400_000AL, fn, 0, 0)), Long.toHexString(fn));
        }
    }

    @Test
    void migrateInfoTypeSaysNoTrustedOs() {
        assertEquals(2, x0(psci().call(0, 0x8400_0006L, 0, 0, 0)));
    }

    @Test
    void unknownAndUnimplementedFunctionsAreNotSupported() {
        Psci p = psci();
        assertEquals(-1, x0(p.call(0, 0x8400_0001L, 0, 0, 0)), "CPU_SUSPEND");
        assertEquals(-1, x0(p.call(0, 0x8400_0005L, 0, 0, 0)), "MIGRATE");
        assertEquals(-1, x0(p.call(0, 0x8000_0000L, 0, 0, 0)), "SMCCC_VERSION");
        assertEquals(-1, x0(p.call(0, 0xC400_0002L, 0, 0, 0)), "CPU_OFF has no SMC64 form");
        assertEquals(-1, x0(p.call(0, 0x1234L, 0, 0, 0)));
    }

    @Test
    void cpuOnStartsTheTargetOnce() {
        Psci p = psci();
        PsciResult r = p.call(0, 0xC400_0003L, 0x100, 0x4008_0000L, 0x1234_5678_9abcL);
        assertEquals(0, r.x0());
        assertEquals(new PsciAction.StartCpu(2, 0x100, 0x4008_0000L, 0x1234_5678_9abcL), r.action());
        assertEquals(Psci.PowerState.ON_PENDING, p.state(2));
        assertEquals(-5, x0(p.call(0, 0xC400_0003L, 0x100, 0x4008_0000L, 0)), "ON_PENDING while starting");
        assertEquals(2, x0(p.call(0, 0x8400_0004L, 0x100, 0, 0)), "AFFINITY_INFO: ON_PENDING");
        p.cpuStarted(2);
        assertEquals(Psci.PowerState.ON, p.state(2));
        assertEquals(-4, x0(p.call(0, 0xC400_0003L, 0x100, 0x4008_0000L, 0)), "ALREADY_ON");
        assertEquals(-4, x0(p.call(1 - 1, 0x8400_0003L, 0x000, 0x4008_0000L, 0)), "CPU 0 is on from the start");
    }

    @Test
    void cpuOn32TruncatesItsArguments() {
        Psci p = psci();
        PsciResult r = p.call(0, 0x8400_0003L, 0xffff_ffff_0000_0001L, 0xffff_ffff_4000_0000L, 0xffff_ffff_0000_0007L);
        assertEquals(new PsciAction.StartCpu(1, 1, 0x4000_0000L, 7), r.action());
    }

    @Test
    void cpuOnRejectsUnknownTargetsAndBadEntries() {
        Psci p = psci();
        assertEquals(-2, x0(p.call(0, 0xC400_0003L, 0x2, 0x4000_0000L, 0)), "no CPU with MPIDR 2");
        assertEquals(-2, x0(p.call(0, 0xC400_0003L, 0x8000_0001L, 0x4000_0000L, 0)), "non-affinity bits set");
        assertEquals(-9, x0(p.call(0, 0xC400_0003L, 0x1, 0x1000L, 0)), "entry outside RAM");
        assertEquals(-9, x0(p.call(0, 0xC400_0003L, 0x1, 0x4000_0002L, 0)), "misaligned entry");
        assertEquals(Psci.PowerState.OFF, p.state(1));
    }

    @Test
    void cpuOffStopsTheCallerAndItCanBeStartedAgain() {
        Psci p = psci();
        p.call(0, 0xC400_0003L, 0x1, 0x4000_0000L, 0);
        p.cpuStarted(1);
        PsciResult off = p.call(1, 0x8400_0002L, 0, 0, 0);
        assertInstanceOf(PsciAction.StopCaller.class, off.action());
        assertEquals(Psci.PowerState.OFF, p.state(1));
        assertEquals(1, x0(p.call(0, 0x8400_0004L, 0x1, 0, 0)), "AFFINITY_INFO: OFF");
        assertInstanceOf(PsciAction.StartCpu.class, p.call(0, 0xC400_0003L, 0x1, 0x4000_0000L, 0).action());
    }

    @Test
    void affinityInfoLevels() {
        Psci p = psci();
        assertEquals(0, x0(p.call(0, 0xC400_0004L, 0x0, 0, 0)), "CPU 0 ON");
        assertEquals(1, x0(p.call(0, 0xC400_0004L, 0x1, 0, 0)), "CPU 1 OFF");
        assertEquals(0, x0(p.call(0, 0xC400_0004L, 0x1, 1, 0)), "cluster 0 has CPU 0 on");
        assertEquals(1, x0(p.call(0, 0xC400_0004L, 0x100, 1, 0)), "cluster 1 is all off");
        assertEquals(-2, x0(p.call(0, 0xC400_0004L, 0x5, 0, 0)), "no such CPU");
        assertEquals(-2, x0(p.call(0, 0xC400_0004L, 0x0, 4, 0)), "no level 4");
    }

    @Test
    void systemOffAndReset() {
        assertInstanceOf(PsciAction.PowerOff.class, psci().call(0, 0x8400_0008L, 0, 0, 0).action());
        assertInstanceOf(PsciAction.Reset.class, psci().call(0, 0x8400_0009L, 0, 0, 0).action());
    }

    @Property(tries = 3000)
    void anyCallAnswersWithoutThrowing(@ForAll long fn, @ForAll long a1, @ForAll long a2, @ForAll long a3) {
        PsciResult r = psci().call(1, fn, a1, a2, a3);
        assertNotNull(r.action());
    }

    @Property(tries = 3000)
    void anyPsciRangeCallAnswersWithoutThrowing(@ForAll byte low, @ForAll boolean smc64, @ForAll long a1,
                                                @ForAll long a2, @ForAll long a3) {
        long fn = (smc64 ? 0xC400_0000L : 0x8400_0000L) | (low & 0x1f);
        PsciResult r = psci().call(0, fn, a1, a2, a3);
        assertNotNull(r.action());
        if (r.action() instanceof PsciAction.StartCpu s) {
            assertTrue(s.cpu() > 0 && s.cpu() < MPIDRS.length);
            assertEquals(0, s.entry() & 3);
        }
    }
}
