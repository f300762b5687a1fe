package org.jvmm.arm64.esr;

/**
 * A decoded ESR_EL2 value: why a guest's instruction trapped to the hypervisor (Arm ARM D23.2.41
 * "ESR_EL2"; field use as in reference/hvf-arm64.md §4.1). Produced by {@link EsrDecoder#decode(long)}.
 *
 * <p>Every record keeps the exception class and the IL bit (1 = the trapped instruction was 32 bits,
 * 0 = 16 bits); what else it carries depends on the class. Classes jvmm does not interpret arrive as
 * {@link Raw}.
 */
public sealed interface Syndrome {

    /** The exception class, ESR bits [31:26]. */
    int ec();

    /** The instruction-length bit, ESR bit [25]: the trapped instruction was 32-bit. */
    boolean il32();

    /**
     * A data abort: the guest loaded or stored at an address stage 2 does not map as writable RAM
     * (EC 0x24 from a lower EL, 0x25 from EL2 itself). When {@code isv} is false, hardware gave no
     * instruction syndrome (LDP/STP, writeback forms …): {@code sizeBytes}, {@code signExtend},
     * {@code register}, {@code sixtyFourBit} and {@code acquireRelease} are then meaningless (0/false) and the
     * VMM must decode the instruction itself or report the access.
     *
     * @param isv            ISS[24]: bits [23:14] are valid
     * @param sizeBytes      1 &lt;&lt; SAS (ISS[23:22]) when {@code isv}, else 0
     * @param signExtend     SSE, ISS[21]: sign-extend a narrow load
     * @param register       SRT, ISS[20:16]: the transfer register, 31 = XZR
     * @param sixtyFourBit   SF, ISS[15]: the register is an X (64-bit) register
     * @param acquireRelease AR, ISS[14]
     * @param farNotValid    FnV, ISS[10]: FAR is not valid
     * @param externalAbort  EA, ISS[9]
     * @param cacheMaintenance CM, ISS[8]: a cache maintenance instruction, not a load or store
     * @param stage1PageWalk S1PTW, ISS[7]: the fault happened walking the guest's own page tables
     * @param write          WnR, ISS[6]: a write (store) rather than a read
     * @param faultStatus    DFSC, ISS[5:0]
     */
    record DataAbort(int ec, boolean il32, boolean isv, int sizeBytes, boolean signExtend, int register,
                     boolean sixtyFourBit, boolean acquireRelease, boolean farNotValid, boolean externalAbort,
                     boolean cacheMaintenance, boolean stage1PageWalk, boolean write, int faultStatus) implements Syndrome {

        /** Whether the abort came from the guest (a lower exception level), not from EL2 itself. */
        public boolean fromLowerEl() { return ec == EsrDecoder.EC_DATA_ABORT_LOWER; }
    }

    /**
     * An instruction abort: the guest fetched from an address stage 2 does not map executable
     * (EC 0x20 lower EL, 0x21 same EL). Nothing to emulate; a VMM reports it.
     *
     * @param farNotValid    FnV, ISS[10]
     * @param externalAbort  EA, ISS[9]
     * @param stage1PageWalk S1PTW, ISS[7]
     * @param faultStatus    IFSC, ISS[5:0]
     */
    record InstructionAbort(int ec, boolean il32, boolean farNotValid, boolean externalAbort,
                            boolean stage1PageWalk, int faultStatus) implements Syndrome {}

    /**
     * A trapped MSR, MRS or system instruction (EC 0x18). The register is (op0, op1, CRn, CRm, op2).
     *
     * @param read whether it was an MRS (register → Xt); false for MSR (Xt → register)
     * @param rt   the general-purpose register, 31 = XZR
     */
    record SysRegAccess(int ec, boolean il32, int op0, int op1, int crn, int crm, int op2, int rt, boolean read)
            implements Syndrome {

        /** The architectural name of the register, such as {@code "ICC_SGI1R_EL1"}, or its encoding {@code "S3_0_C12_C11_5"}. */
        public String name() { return SysRegNames.name(op0, op1, crn, crm, op2); }

        /** The Hypervisor.framework {@code hv_sys_reg_t} encoding: op0&lt;&lt;14 | op1&lt;&lt;11 | CRn&lt;&lt;7 | CRm&lt;&lt;3 | op2. */
        public int hvSysReg() { return op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2; }
    }

    /**
     * A trapped WFI, WFE, WFIT or WFET (EC 0x01).
     *
     * @param kind      TI, ISS[1:0]
     * @param register  Rn, ISS[9:5], the timeout register of WFIT/WFET (valid when {@code registerValid})
     * @param registerValid RV, ISS[2]
     */
    record WaitFor(int ec, boolean il32, Kind kind, int register, boolean registerValid) implements Syndrome {
        /** Which instruction trapped (TI encoding order). */
        public enum Kind { WFI, WFE, WFIT, WFET }
    }

    /** An HVC (EC 0x16 from AArch64, 0x12 from AArch32) with its 16-bit immediate. The PC is already past it. */
    record Hvc(int ec, boolean il32, int immediate) implements Syndrome {}

    /** An SMC (EC 0x17 from AArch64, 0x13 from AArch32) with its 16-bit immediate. The PC still points at it. */
    record Smc(int ec, boolean il32, int immediate) implements Syndrome {}

    /** A BRK instruction (EC 0x3c) with its 16-bit comment field. */
    record Brk(int ec, boolean il32, int comment) implements Syndrome {}

    /**
     * Any other exception class, kept whole.
     *
     * @param iss  ISS, bits [24:0]
     * @param iss2 ISS2, bits [55:32] (FEAT_LS64 and later; 0 otherwise)
     */
    record Raw(int ec, boolean il32, int iss, long iss2) implements Syndrome {}
}
