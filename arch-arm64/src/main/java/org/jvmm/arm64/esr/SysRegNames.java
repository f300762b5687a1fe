package org.jvmm.arm64.esr;

import java.util.Map;

/**
 * Names of the system registers a guest's trapped MSR/MRS commonly touches on Hypervisor.framework and KVM:
 * the GICv3 CPU interface (trapped without an in-kernel GIC), timers, PMU, OS lock and debug registers, and
 * the ID registers. Encodings are (op0, op1, CRn, CRm, op2) from the Arm ARM's register descriptions; they
 * agree with the {@code hv_sys_reg_t} values of reference/hvf-arm64.md §3.5 and §3.6 (checked by tests).
 */
final class SysRegNames {

    private SysRegNames() {}

    private static int key(int op0, int op1, int crn, int crm, int op2) {
        return op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
    }

    private static final Map<Integer, String> NAMES = Map.ofEntries(
            // Debug and OS lock (op0 = 2)
            Map.entry(key(2, 0, 0, 2, 0), "MDCCINT_EL1"),
            Map.entry(key(2, 0, 0, 2, 2), "MDSCR_EL1"),
            Map.entry(key(2, 0, 1, 0, 4), "OSLAR_EL1"),
            Map.entry(key(2, 0, 1, 1, 4), "OSLSR_EL1"),
            Map.entry(key(2, 0, 1, 3, 4), "OSDLR_EL1"),
            // Identification
            Map.entry(key(3, 0, 0, 0, 0), "MIDR_EL1"),
            Map.entry(key(3, 0, 0, 0, 5), "MPIDR_EL1"),
            Map.entry(key(3, 0, 0, 4, 0), "ID_AA64PFR0_EL1"),
            Map.entry(key(3, 0, 0, 4, 1), "ID_AA64PFR1_EL1"),
            Map.entry(key(3, 0, 0, 5, 0), "ID_AA64DFR0_EL1"),
            Map.entry(key(3, 0, 0, 5, 1), "ID_AA64DFR1_EL1"),
            Map.entry(key(3, 0, 0, 6, 0), "ID_AA64ISAR0_EL1"),
            Map.entry(key(3, 0, 0, 6, 1), "ID_AA64ISAR1_EL1"),
            Map.entry(key(3, 0, 0, 7, 0), "ID_AA64MMFR0_EL1"),
            Map.entry(key(3, 0, 0, 7, 1), "ID_AA64MMFR1_EL1"),
            Map.entry(key(3, 0, 0, 7, 2), "ID_AA64MMFR2_EL1"),
            Map.entry(key(3, 0, 1, 0, 0), "SCTLR_EL1"),
            Map.entry(key(3, 0, 1, 0, 1), "ACTLR_EL1"),
            // GICv3 CPU interface
            Map.entry(key(3, 0, 4, 6, 0), "ICC_PMR_EL1"),
            Map.entry(key(3, 0, 12, 8, 0), "ICC_IAR0_EL1"),
            Map.entry(key(3, 0, 12, 8, 1), "ICC_EOIR0_EL1"),
            Map.entry(key(3, 0, 12, 8, 3), "ICC_BPR0_EL1"),
            Map.entry(key(3, 0, 12, 8, 4), "ICC_AP0R0_EL1"),
            Map.entry(key(3, 0, 12, 9, 0), "ICC_AP1R0_EL1"),
            Map.entry(key(3, 0, 12, 11, 1), "ICC_DIR_EL1"),
            Map.entry(key(3, 0, 12, 11, 3), "ICC_RPR_EL1"),
            Map.entry(key(3, 0, 12, 11, 5), "ICC_SGI1R_EL1"),
            Map.entry(key(3, 0, 12, 11, 6), "ICC_ASGI1R_EL1"),
            Map.entry(key(3, 0, 12, 11, 7), "ICC_SGI0R_EL1"),
            Map.entry(key(3, 0, 12, 12, 0), "ICC_IAR1_EL1"),
            Map.entry(key(3, 0, 12, 12, 1), "ICC_EOIR1_EL1"),
            Map.entry(key(3, 0, 12, 12, 2), "ICC_HPPIR1_EL1"),
            Map.entry(key(3, 0, 12, 12, 3), "ICC_BPR1_EL1"),
            Map.entry(key(3, 0, 12, 12, 4), "ICC_CTLR_EL1"),
            Map.entry(key(3, 0, 12, 12, 5), "ICC_SRE_EL1"),
            Map.entry(key(3, 0, 12, 12, 6), "ICC_IGRPEN0_EL1"),
            Map.entry(key(3, 0, 12, 12, 7), "ICC_IGRPEN1_EL1"),
            // PMU
            Map.entry(key(3, 0, 9, 14, 1), "PMINTENSET_EL1"),
            Map.entry(key(3, 0, 9, 14, 2), "PMINTENCLR_EL1"),
            Map.entry(key(3, 3, 9, 12, 0), "PMCR_EL0"),
            Map.entry(key(3, 3, 9, 12, 1), "PMCNTENSET_EL0"),
            Map.entry(key(3, 3, 9, 12, 2), "PMCNTENCLR_EL0"),
            Map.entry(key(3, 3, 9, 12, 3), "PMOVSCLR_EL0"),
            Map.entry(key(3, 3, 9, 12, 4), "PMSWINC_EL0"),
            Map.entry(key(3, 3, 9, 12, 5), "PMSELR_EL0"),
            Map.entry(key(3, 3, 9, 12, 6), "PMCEID0_EL0"),
            Map.entry(key(3, 3, 9, 12, 7), "PMCEID1_EL0"),
            Map.entry(key(3, 3, 9, 13, 0), "PMCCNTR_EL0"),
            Map.entry(key(3, 3, 9, 14, 0), "PMUSERENR_EL0"),
            Map.entry(key(3, 3, 9, 14, 3), "PMOVSSET_EL0"),
            // Generic timer
            Map.entry(key(3, 3, 14, 0, 0), "CNTFRQ_EL0"),
            Map.entry(key(3, 3, 14, 0, 1), "CNTPCT_EL0"),
            Map.entry(key(3, 3, 14, 0, 2), "CNTVCT_EL0"),
            Map.entry(key(3, 3, 14, 2, 0), "CNTP_TVAL_EL0"),
            Map.entry(key(3, 3, 14, 2, 1), "CNTP_CTL_EL0"),
            Map.entry(key(3, 3, 14, 2, 2), "CNTP_CVAL_EL0"),
            Map.entry(key(3, 3, 14, 3, 0), "CNTV_TVAL_EL0"),
            Map.entry(key(3, 3, 14, 3, 1), "CNTV_CTL_EL0"),
            Map.entry(key(3, 3, 14, 3, 2), "CNTV_CVAL_EL0"),
            Map.entry(key(3, 4, 14, 1, 0), "CNTHCTL_EL2"));

    /** The name of (op0, op1, CRn, CRm, op2), or the generic {@code S<op0>_<op1>_C<n>_C<m>_<op2>} form. */
    static String name(int op0, int op1, int crn, int crm, int op2) {
        String n = NAMES.get(key(op0, op1, crn, crm, op2));
        return n != null ? n : "S%d_%d_C%d_C%d_%d".formatted(op0, op1, crn, crm, op2);
    }
}
