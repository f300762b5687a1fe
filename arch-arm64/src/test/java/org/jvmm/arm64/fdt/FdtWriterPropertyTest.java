package org.jvmm.arm64.fdt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.regex.Pattern;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;

/** Random property values of every length pad and align correctly: dtc reads every one back. */
class FdtWriterPropertyTest {

    @Property(tries = 40)
    void everyPropertyLengthRoundTripsThroughDtc(@ForAll @Size(max = 12) List<@Size(max = 23) List<Byte>> values)
            throws Exception {
        FdtWriter w = new FdtWriter().beginNode("");
        for (int i = 0; i < values.size(); i++) {
            byte[] v = new byte[values.get(i).size()];
            for (int j = 0; j < v.length; j++) v[j] = values.get(i).get(j);
            w.property("p" + i, v);
        }
        w.beginNode("child").propertyU32("last", 0x12345678).endNode();
        Dtc.Result r = Dtc.decompile(w.endNode().finish(0));
        assertEquals(0, r.exitCode(), r.diagnostics());
        for (int i = 0; i < values.size(); i++) {
            assertTrue(Pattern.compile("\\n\\tp" + i + "( = .*)?;").matcher(r.dts()).find(), "p" + i + " in\n" + r.dts());
        }
        assertTrue(r.dts().contains("last = <0x12345678>;"), r.dts());
    }
}
