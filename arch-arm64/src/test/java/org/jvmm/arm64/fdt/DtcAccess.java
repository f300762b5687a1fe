package org.jvmm.arm64.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Lets tests in other packages decompile a blob through {@link Dtc}, insisting on zero warnings. */
public final class DtcAccess {

    private DtcAccess() {}

    public static String decompileWithoutWarnings(byte[] dtb) throws Exception {
        Dtc.Result r = Dtc.decompile(dtb);
        assertEquals(0, r.exitCode(), r.diagnostics());
        assertEquals("", r.diagnostics(), "dtc must print no warnings");
        return r.dts();
    }
}
