package org.jvmm.arm64.esr;

/**
 * Decodes an ESR_EL2 syndrome (what Hypervisor.framework reports as {@code exception.syndrome} and KVM
 * keeps in {@code ESR_EL2}) into a {@link Syndrome} record.
 *
 * <p>Pure and total: every 64-bit value decodes to a record and nothing throws, because the value comes
 * from a trap a hostile guest can provoke at will. Layout per the Arm ARM (D23.2.41 ESR_EL2 and the ISS
 * encodings per EC), summarised in reference/hvf-arm64.md §4.1: EC [31:26], IL [25], ISS [24:0], ISS2 [55:32].
 */
public final class EsrDecoder {

    public static final int EC_UNKNOWN = 0x00;
    public static final int EC_WFX = 0x01;
    public static final int EC_HVC32 = 0x12;
    public static final int EC_SMC32 = 0x13;
    public static final int EC_HVC64 = 0x16;
    public static final int EC_SMC64 = 0x17;
    public static final int EC_SYSREG = 0x18;
    public static final int EC_INSTRUCTION_ABORT_LOWER = 0x20;
    public static final int EC_INSTRUCTION_ABORT_SAME = 0x21;
    public static final int EC_DATA_ABORT_LOWER = 0x24;
    public static final int EC_DATA_ABORT_SAME = 0x25;
    public static final int EC_BRK = 0x3c;

    private EsrDecoder() {}

    /** The exception class of {@code esr}. */
    public static int ec(long esr) {
        return (int) (esr >>> 26) & 0x3f;
    }

    /** Decodes {@code esr}; never throws. */
    public static Syndrome decode(long esr) {
        int ec = ec(esr);
        boolean il = bit(esr, 25);
        int iss = (int) esr & 0x1ff_ffff;
        return switch (ec) {
            case EC_DATA_ABORT_LOWER, EC_DATA_ABORT_SAME -> dataAbort(ec, il, iss);
            case EC_INSTRUCTION_ABORT_LOWER, EC_INSTRUCTION_ABORT_SAME ->
                    new Syndrome.InstructionAbort(ec, il, bit(iss, 10), bit(iss, 9), bit(iss, 7), iss & 0x3f);
            case EC_SYSREG -> new Syndrome.SysRegAccess(ec, il, field(iss, 20, 2), field(iss, 14, 3),
                    field(iss, 10, 4), field(iss, 1, 4), field(iss, 17, 3), field(iss, 5, 5), bit(iss, 0));
            case EC_WFX -> new Syndrome.WaitFor(ec, il, Syndrome.WaitFor.Kind.values()[iss & 3],
                    field(iss, 5, 5), bit(iss, 2));
            case EC_HVC32, EC_HVC64 -> new Syndrome.Hvc(ec, il, iss & 0xffff);
            case EC_SMC32, EC_SMC64 -> new Syndrome.Smc(ec, il, iss & 0xffff);
            case EC_BRK -> new Syndrome.Brk(ec, il, iss & 0xffff);
            default -> new Syndrome.Raw(ec, il, iss, (esr >>> 32) & 0xff_ffffL);
        };
    }

    private static Syndrome.DataAbort dataAbort(int ec, boolean il, int iss) {
        boolean isv = bit(iss, 24);
        return new Syndrome.DataAbort(ec, il, isv,
                isv ? 1 << field(iss, 22, 2) : 0,
                isv && bit(iss, 21),
                isv ? field(iss, 16, 5) : 0,
                isv && bit(iss, 15),
                isv && bit(iss, 14),
                bit(iss, 10), bit(iss, 9), bit(iss, 8), bit(iss, 7), bit(iss, 6), iss & 0x3f);
    }

    private static boolean bit(long value, int bit) {
        return (value >>> bit & 1) != 0;
    }

    private static int field(int value, int lsb, int width) {
        return value >>> lsb & ((1 << width) - 1);
    }
}
