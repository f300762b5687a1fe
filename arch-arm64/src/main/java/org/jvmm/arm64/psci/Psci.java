package org.jvmm.arm64.psci;

import java.util.Arrays;
import java.util.function.LongPredicate;

/**
 * PSCI 1.0 (Arm DEN 0022, with the 0.2 function set it extends) implemented by the VMM, as a pure state
 * machine over the vCPUs' power states. A backend that traps the guest's HVC or SMC passes X0–X3 to
 * {@link #call} and carries out the returned {@link PsciAction}; nothing here touches a vCPU.
 *
 * <p>Function IDs and return codes follow Linux's {@code include/uapi/linux/psci.h} (reference/hvf-arm64.md
 * §4.7). SMC32 IDs (0x84…) take 32-bit arguments, so their upper halves are ignored; SMC64 IDs (0xC4…) exist
 * for CPU_ON and AFFINITY_INFO among the functions served. Unknown IDs, including SMCCC probes, return
 * NOT_SUPPORTED as SMCCC §5.2 asks; there is no Trusted OS (MIGRATE_INFO_TYPE = 2).
 *
 * <p>The PC is the backend's business, and differs by conduit (hvf-arm64.md §4.2, §7.12): after an HVC the
 * reported PC already points past the instruction, so it must not be advanced; after an SMC it points at the
 * SMC, so it must be advanced by 4 — or the guest calls again forever.
 *
 * <p>Power states: vCPU 0 starts ON, the others OFF. CPU_ON makes its target ON_PENDING until the backend
 * reports {@link #cpuStarted}. Thread-safe: vCPU threads call it concurrently.
 */
public final class Psci {

    public static final int PSCI_VERSION = 0x8400_0000;
    public static final int CPU_SUSPEND_32 = 0x8400_0001;
    public static final int CPU_OFF = 0x8400_0002;
    public static final int CPU_ON_32 = 0x8400_0003;
    public static final int AFFINITY_INFO_32 = 0x8400_0004;
    public static final int MIGRATE_32 = 0x8400_0005;
    public static final int MIGRATE_INFO_TYPE = 0x8400_0006;
    public static final int MIGRATE_INFO_UP_CPU_32 = 0x8400_0007;
    public static final int SYSTEM_OFF = 0x8400_0008;
    public static final int SYSTEM_RESET = 0x8400_0009;
    public static final int PSCI_FEATURES = 0x8400_000A;
    public static final int CPU_SUSPEND_64 = 0xC400_0001;
    public static final int CPU_ON_64 = 0xC400_0003;
    public static final int AFFINITY_INFO_64 = 0xC400_0004;

    public static final int SUCCESS = 0;
    public static final int NOT_SUPPORTED = -1;
    public static final int INVALID_PARAMETERS = -2;
    public static final int DENIED = -3;
    public static final int ALREADY_ON = -4;
    public static final int ON_PENDING = -5;
    public static final int INTERNAL_FAILURE = -6;
    public static final int NOT_PRESENT = -7;
    public static final int DISABLED = -8;
    public static final int INVALID_ADDRESS = -9;

    /** PSCI_VERSION's answer: major 1, minor 0. */
    public static final int VERSION_1_0 = 0x0001_0000;
    /** MIGRATE_INFO_TYPE's answer: "Trusted OS is either not present or does not require migration". */
    public static final int MIGRATE_INFO_TYPE_NOT_PRESENT = 2;
    /** AFFINITY_INFO's answers. */
    public static final int AFFINITY_ON = 0, AFFINITY_OFF = 1, AFFINITY_ON_PENDING = 2;
    /** The MPIDR fields PSCI compares: Aff3 [39:32] and Aff2..Aff0 [23:0]. */
    static final long AFFINITY_MASK = 0xff_00ff_ffffL;

    /** A vCPU's power state. */
    public enum PowerState { ON, OFF, ON_PENDING }

    private final long[] mpidrs;
    private final PowerState[] states;
    private final LongPredicate validEntry;

    /**
     * @param mpidrs     each vCPU's MPIDR affinity, index = vCPU id
     * @param validEntry whether a CPU_ON entry point is acceptable (in guest RAM, 4-byte aligned);
     *                   otherwise CPU_ON answers INVALID_ADDRESS
     */
    public Psci(long[] mpidrs, LongPredicate validEntry) {
        if (mpidrs.length == 0) throw new IllegalArgumentException("a machine has at least one vCPU");
        this.mpidrs = mpidrs.clone();
        this.validEntry = validEntry;
        this.states = new PowerState[mpidrs.length];
        Arrays.fill(states, PowerState.OFF);
        states[0] = PowerState.ON;
    }

    /** The power state of vCPU {@code cpu}. */
    public synchronized PowerState state(int cpu) {
        return states[cpu];
    }

    /** The backend started vCPU {@code cpu} after a {@link PsciAction.StartCpu}: it is now ON. */
    public synchronized void cpuStarted(int cpu) {
        if (states[cpu] == PowerState.ON_PENDING) states[cpu] = PowerState.ON;
    }

    /**
     * Handles the PSCI call vCPU {@code caller} made with X0 = {@code function} and X1–X3 = {@code a1..a3}.
     * Never throws for any argument values.
     */
    public synchronized PsciResult call(int caller, long function, long a1, long a2, long a3) {
        // SMCCC: the function ID is W0; the upper half of X0 is ignored.
        int fn = (int) function;
        boolean smc64 = (fn & 0x4000_0000) != 0;
        if (!smc64) {
            a1 &= 0xffff_ffffL;
            a2 &= 0xffff_ffffL;
            a3 &= 0xffff_ffffL;
        }
        return switch (fn) {
            case PSCI_VERSION -> PsciResult.ret(VERSION_1_0);
            case PSCI_FEATURES -> PsciResult.ret(supported((int) a1) ? SUCCESS : NOT_SUPPORTED);
            case MIGRATE_INFO_TYPE -> PsciResult.ret(MIGRATE_INFO_TYPE_NOT_PRESENT);
            case CPU_ON_32, CPU_ON_64 -> cpuOn(a1, a2, a3);
            case CPU_OFF -> cpuOff(caller);
            case AFFINITY_INFO_32, AFFINITY_INFO_64 -> affinityInfo(a1, a2);
            case SYSTEM_OFF -> new PsciResult(SUCCESS, new PsciAction.PowerOff());
            case SYSTEM_RESET -> new PsciResult(SUCCESS, new PsciAction.Reset());
            default -> PsciResult.ret(NOT_SUPPORTED);
        };
    }

    /** Whether PSCI_FEATURES reports {@code fn} as implemented. */
    static boolean supported(int fn) {
        return switch (fn) {
            case PSCI_VERSION, PSCI_FEATURES, MIGRATE_INFO_TYPE, CPU_ON_32, CPU_ON_64, CPU_OFF,
                 AFFINITY_INFO_32, AFFINITY_INFO_64, SYSTEM_OFF, SYSTEM_RESET -> true;
            default -> false;
        };
    }

    private PsciResult cpuOn(long target, long entry, long contextId) {
        int cpu = cpuOf(target);
        if (cpu < 0) return PsciResult.ret(INVALID_PARAMETERS);
        switch (states[cpu]) {
            case ON: return PsciResult.ret(ALREADY_ON);
            case ON_PENDING: return PsciResult.ret(ON_PENDING);
            default: break;
        }
        if (!validEntry.test(entry)) return PsciResult.ret(INVALID_ADDRESS);
        states[cpu] = PowerState.ON_PENDING;
        return new PsciResult(SUCCESS, new PsciAction.StartCpu(cpu, mpidrs[cpu], entry, contextId));
    }

    private PsciResult cpuOff(int caller) {
        if (caller < 0 || caller >= states.length) return PsciResult.ret(INVALID_PARAMETERS);
        states[caller] = PowerState.OFF;
        return new PsciResult(SUCCESS, new PsciAction.StopCaller());
    }

    private PsciResult affinityInfo(long target, long level) {
        if (level < 0 || level > 3 || (target & ~AFFINITY_MASK) != 0) return PsciResult.ret(INVALID_PARAMETERS);
        // Affinity fields below the requested level are ignored: level 1 asks about target's whole cluster.
        long mask = AFFINITY_MASK & switch ((int) level) {
            case 0 -> ~0L;
            case 1 -> ~0xffL;
            case 2 -> ~0xffffL;
            default -> ~0xff_ffffL;
        };
        boolean any = false, pending = false;
        for (int i = 0; i < mpidrs.length; i++) {
            if ((mpidrs[i] & mask) != (target & mask)) continue;
            any = true;
            if (states[i] == PowerState.ON) return PsciResult.ret(AFFINITY_ON);
            if (states[i] == PowerState.ON_PENDING) pending = true;
        }
        if (!any) return PsciResult.ret(INVALID_PARAMETERS);
        return PsciResult.ret(pending ? AFFINITY_ON_PENDING : AFFINITY_OFF);
    }

    /** The vCPU whose affinity is {@code mpidr}, or -1; bits outside the affinity fields must be zero. */
    private int cpuOf(long mpidr) {
        if ((mpidr & ~AFFINITY_MASK) != 0) return -1;
        for (int i = 0; i < mpidrs.length; i++) {
            if ((mpidrs[i] & AFFINITY_MASK) == mpidr) return i;
        }
        return -1;
    }
}
