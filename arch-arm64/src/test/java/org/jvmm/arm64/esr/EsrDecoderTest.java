package org.jvmm.arm64.esr;

import static org.junit.jupiter.api.Assertions.*;

import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The ESR_EL2 decoder against syndromes assembled by hand from the Arm ARM field layout (reference/hvf-arm64.md
 * §4.1), and jqwik properties: every 64-bit value decodes without throwing, and fields encoded here (by this
 * test's own encoder, not the decoder) come back unchanged.
 */
class EsrDecoderTest {

    // ---- hand-assembled examples ---------------------------------------------------------------

    @Test
    void hvcZeroIsTheWellKnown0x5a000000() {
        // EC 0x16 << 26 = 0x58000000, IL = 0x02000000, imm16 = 0.
        assertEquals(new Syndrome.Hvc(0x16, true, 0), EsrDecoder.decode(0x5a00_0000L));
    }

    @Test
    void smcWithImmediate() {
        // SMC #0x1234 from AArch64: EC 0x17 -> 0x5c000000 | IL | 0x1234.
        assertEquals(new Syndrome.Smc(0x17, true, 0x1234), EsrDecoder.decode(0x5e00_1234L));
    }

    @Test
    void wfiAndWfe() {
        // EC 0x01 -> 0x04000000 | IL 0x02000000; TI = 0 WFI, 1 WFE.
        assertEquals(new Syndrome.WaitFor(1, true, Syndrome.WaitFor.Kind.WFI, 0, false), EsrDecoder.decode(0x0600_0000L));
        assertEquals(new Syndrome.WaitFor(1, true, Syndrome.WaitFor.Kind.WFE, 0, false), EsrDecoder.decode(0x0600_0001L));
        // WFIT x3: TI = 2, RV = 1 (bit 2), Rn = 3 (bits 9:5 -> 0x60).
        assertEquals(new Syndrome.WaitFor(1, true, Syndrome.WaitFor.Kind.WFIT, 3, true), EsrDecoder.decode(0x0600_0066L));
    }

    @Test
    void wordStoreFromW1IsAnIsvDataAbort() {
        // STR w1, [x0] to an unmapped IPA: EC 0x24 (0x90000000) | IL (0x02000000) | ISV (0x01000000)
        // | SAS = 2 (0x00800000) | SRT = 1 (0x00010000) | WnR (0x40) | DFSC 0x07 (translation fault, level 3).
        Syndrome s = EsrDecoder.decode(0x9381_0047L);
        assertEquals(new Syndrome.DataAbort(0x24, true, true, 4, false, 1, false, false, false, false, false, false,
                true, 0x07), s);
        assertTrue(((Syndrome.DataAbort) s).fromLowerEl());
    }

    @Test
    void signExtendingByteLoadIntoX30() {
        // LDRSB x30, [x2]: ISV, SAS = 0, SSE (bit 21 = 0x00200000), SRT = 30 (0x001e0000), SF (0x8000), read.
        long esr = 0x9000_0000L | 0x0200_0000L | 0x0100_0000L | 0x0020_0000L | 0x001e_0000L | 0x8000L | 0x06L;
        assertEquals(new Syndrome.DataAbort(0x24, true, true, 1, true, 30, true, false, false, false, false, false,
                false, 0x06), EsrDecoder.decode(esr));
    }

    @Test
    void dataAbortWithoutIsvHidesTheInstructionFields() {
        // LDP-style abort: ISV = 0, so SAS/SRT bits are not to be trusted even if set.
        long esr = 0x9200_0000L | 0x00c0_0000L | 0x0005_0000L | 0x47L;
        Syndrome.DataAbort d = (Syndrome.DataAbort) EsrDecoder.decode(esr);
        assertFalse(d.isv());
        assertEquals(0, d.sizeBytes());
        assertEquals(0, d.register());
        assertTrue(d.write());
    }

    @Test
    void mrsCntpctIsASysRegRead() {
        // MRS x0, CNTPCT_EL0 = (3, 3, c14, c0, 1): EC 0x18 (0x60000000) | IL | Op0 3 << 20 | Op2 1 << 17
        // | Op1 3 << 14 | CRn 14 << 10 | Rt 0 | CRm 0 | direction 1 (read).
        Syndrome.SysRegAccess s = (Syndrome.SysRegAccess) EsrDecoder.decode(0x6232_f801L);
        assertEquals(new Syndrome.SysRegAccess(0x18, true, 3, 3, 14, 0, 1, 0, true), s);
        assertEquals("CNTPCT_EL0", s.name());
    }

    @Test
    void msrIccSgi1rIsASysRegWrite() {
        // MSR ICC_SGI1R_EL1, x5 = (3, 0, c12, c11, 5): Op0 0x300000 | Op2 5 << 17 = 0xa0000 | CRn 12 << 10 = 0x3000
        // | Rt 5 << 5 = 0xa0 | CRm 11 << 1 = 0x16 | write.
        Syndrome.SysRegAccess s = (Syndrome.SysRegAccess) EsrDecoder.decode(0x6200_0000L | 0x30_0000 | 0xa_0000 | 0x3000 | 0xa0 | 0x16);
        assertEquals(new Syndrome.SysRegAccess(0x18, true, 3, 0, 12, 11, 5, 5, false), s);
        assertEquals("ICC_SGI1R_EL1", s.name());
    }

    @Test
    void sysRegNamesAgreeWithHypervisorFrameworkEncodings() {
        // hv_sys_reg_t / hv_gic_icc_reg_t values from reference/hvf-arm64.md §3.5–3.6, split by this test.
        int[][] hv = {{0xc230}, {0xc663}, {0xc664}, {0xc665}, {0xc667}, {0xdf11}, {0xdf19}, {0xdf1a}, {0x8012},
                {0x8010}, {0xc005}, {0xc020}, {0xc080}, {0xe708}};
        String[] names = {"ICC_PMR_EL1", "ICC_BPR1_EL1", "ICC_CTLR_EL1", "ICC_SRE_EL1", "ICC_IGRPEN1_EL1",
                "CNTP_CTL_EL0", "CNTV_CTL_EL0", "CNTV_CVAL_EL0", "MDSCR_EL1", "MDCCINT_EL1", "MPIDR_EL1",
                "ID_AA64PFR0_EL1", "SCTLR_EL1", "CNTHCTL_EL2"};
        for (int i = 0; i < hv.length; i++) {
            int v = hv[i][0];
            Syndrome.SysRegAccess s = new Syndrome.SysRegAccess(0x18, true, v >> 14 & 3, v >> 11 & 7, v >> 7 & 15,
                    v >> 3 & 15, v & 7, 0, true);
            assertEquals(names[i], s.name(), "hv_sys_reg 0x" + Integer.toHexString(v));
            assertEquals(v, s.hvSysReg());
        }
        assertEquals("S3_7_C15_C15_7", new Syndrome.SysRegAccess(0x18, true, 3, 7, 15, 15, 7, 0, true).name());
    }

    @Test
    void brkAndUnknownClasses() {
        // BRK #0x3e8: EC 0x3c -> 0xf0000000 | IL | 0x3e8.
        assertEquals(new Syndrome.Brk(0x3c, true, 0x3e8), EsrDecoder.decode(0xf200_03e8L));
        // EC 0x07 (SVE/SIMD/FP access trap) is not interpreted: raw, with ISS and ISS2 kept.
        assertEquals(new Syndrome.Raw(0x07, true, 0x1e0_0000, 0xabcdefL), EsrDecoder.decode(0x00ab_cdef_1fe0_0000L));
        // Instruction abort from the guest, IFSC 0x06, S1PTW.
        assertEquals(new Syndrome.InstructionAbort(0x20, true, false, false, true, 0x06), EsrDecoder.decode(0x8200_0086L));
    }

    // ---- properties -----------------------------------------------------------------------------

    @Property(tries = 5000)
    void everySyndromeDecodesWithoutThrowing(@ForAll long esr) {
        Syndrome s = EsrDecoder.decode(esr);
        assertNotNull(s);
        assertEquals((int) (esr >>> 26) & 0x3f, s.ec());
        assertEquals((esr & (1L << 25)) != 0, s.il32());
    }

    @Property(tries = 2000)
    void everyExceptionClassIsCovered(@ForAll @IntRange(min = 0, max = 63) int ec, @ForAll long rest) {
        long esr = (rest & ~(0x3fL << 26)) | (long) ec << 26;
        assertEquals(ec, EsrDecoder.decode(esr).ec());
    }

    /** This test's own encoder of a data abort ISS, from the field table. */
    private static long dataAbort(boolean lower, int sas, boolean sse, int srt, boolean sf, boolean ar, boolean fnv,
                                  boolean ea, boolean cm, boolean s1ptw, boolean wnr, int dfsc) {
        return (long) (lower ? 0x24 : 0x25) << 26 | 1L << 25 | 1L << 24 | (long) sas << 22 | (sse ? 1L << 21 : 0)
                | (long) srt << 16 | (sf ? 1L << 15 : 0) | (ar ? 1L << 14 : 0) | (fnv ? 1L << 10 : 0) | (ea ? 1L << 9 : 0)
                | (cm ? 1L << 8 : 0) | (s1ptw ? 1L << 7 : 0) | (wnr ? 1L << 6 : 0) | dfsc;
    }

    @Property(tries = 2000)
    void dataAbortFieldsRoundTrip(@ForAll boolean lower, @ForAll @IntRange(max = 3) int sas, @ForAll boolean sse,
                                  @ForAll @IntRange(max = 31) int srt, @ForAll boolean sf, @ForAll boolean ar,
                                  @ForAll boolean fnv, @ForAll boolean ea, @ForAll boolean cm, @ForAll boolean s1ptw,
                                  @ForAll boolean wnr, @ForAll @IntRange(max = 63) int dfsc) {
        Syndrome s = EsrDecoder.decode(dataAbort(lower, sas, sse, srt, sf, ar, fnv, ea, cm, s1ptw, wnr, dfsc));
        assertEquals(new Syndrome.DataAbort(lower ? 0x24 : 0x25, true, true, 1 << sas, sse, srt, sf, ar, fnv, ea, cm,
                s1ptw, wnr, dfsc), s);
    }

    @Property(tries = 2000)
    void sysRegFieldsRoundTrip(@ForAll @IntRange(max = 3) int op0, @ForAll @IntRange(max = 7) int op1,
                               @ForAll @IntRange(max = 15) int crn, @ForAll @IntRange(max = 15) int crm,
                               @ForAll @IntRange(max = 7) int op2, @ForAll @IntRange(max = 31) int rt, @ForAll boolean read) {
        long esr = 0x18L << 26 | 1L << 25 | (long) op0 << 20 | (long) op2 << 17 | (long) op1 << 14 | (long) crn << 10
                | (long) rt << 5 | (long) crm << 1 | (read ? 1 : 0);
        assertEquals(new Syndrome.SysRegAccess(0x18, true, op0, op1, crn, crm, op2, rt, read), EsrDecoder.decode(esr));
    }

    @Property(tries = 1000)
    void hvcSmcBrkImmediatesRoundTrip(@ForAll @IntRange(max = 0xffff) int imm) {
        assertEquals(new Syndrome.Hvc(0x16, true, imm), EsrDecoder.decode(0x16L << 26 | 1L << 25 | imm));
        assertEquals(new Syndrome.Hvc(0x12, true, imm), EsrDecoder.decode(0x12L << 26 | 1L << 25 | imm));
        assertEquals(new Syndrome.Smc(0x17, true, imm), EsrDecoder.decode(0x17L << 26 | 1L << 25 | imm));
        assertEquals(new Syndrome.Brk(0x3c, true, imm), EsrDecoder.decode(0x3cL << 26 | 1L << 25 | imm));
    }

    @Property(tries = 500)
    void wfxRoundTrips(@ForAll @IntRange(max = 3) int ti, @ForAll @IntRange(max = 31) int rn, @ForAll boolean rv) {
        long esr = 0x01L << 26 | 1L << 25 | (long) rn << 5 | (rv ? 4 : 0) | ti;
        assertEquals(new Syndrome.WaitFor(1, true, Syndrome.WaitFor.Kind.values()[ti], rn, rv), EsrDecoder.decode(esr));
    }
}
