package org.jvmm.arm64.fdt;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The DTB writer's block layout (Devicetree Specification §5), checked byte by byte and through dtc. */
class FdtWriterTest {

    private static byte[] sample() {
        return new FdtWriter()
                .reserveMemory(0x4000_0000L, 0x1000)
                .beginNode("")
                .propertyU32("#address-cells", 2)
                .propertyU32("#size-cells", 2)
                .propertyStrings("compatible", "a,b")
                .beginNode("x@1000").propertyStrings("compatible", "c,d").propertyU64("reg", 0x1000, 0x10).endNode()
                .beginNode("y@2000").propertyStrings("compatible", "e,f", "g").propertyU64("reg", 0x2000, 0x10)
                .property("flag").endNode()
                .endNode()
                .finish(0);
    }

    @Test
    void headerAndBlocksAreWhereTheSpecSays() {
        byte[] dtb = sample();
        ByteBuffer b = ByteBuffer.wrap(dtb);
        assertEquals(0xd00dfeed, b.getInt(0), "magic");
        assertEquals(dtb.length, b.getInt(4), "totalsize");
        int offStruct = b.getInt(8), offStrings = b.getInt(12), offRsv = b.getInt(16);
        assertEquals(17, b.getInt(20), "version");
        assertEquals(16, b.getInt(24), "last_comp_version");
        assertEquals(0, b.getInt(28), "boot_cpuid_phys");
        int sizeStrings = b.getInt(32), sizeStruct = b.getInt(36);
        assertEquals(0, offRsv % 8, "reservation block 8-byte aligned");
        assertEquals(0, offStruct % 4, "structure block 4-byte aligned");
        assertTrue(offRsv >= 40 && offStruct >= offRsv + 32 && offStrings >= offStruct + sizeStruct);
        assertEquals(dtb.length, offStrings + sizeStrings);
        // One reservation then the terminating all-zero entry.
        assertEquals(0x4000_0000L, b.getLong(offRsv));
        assertEquals(0x1000L, b.getLong(offRsv + 8));
        assertEquals(0L, b.getLong(offRsv + 16));
        assertEquals(0L, b.getLong(offRsv + 24));
        // Structure: FDT_BEGIN_NODE for the root with an empty, padded name, and FDT_END last.
        assertEquals(1, b.getInt(offStruct));
        assertEquals(0, b.getInt(offStruct + 4));
        assertEquals(9, b.getInt(offStruct + sizeStruct - 4));
        // Strings are de-duplicated: "compatible" and "reg" once each.
        String strings = new String(dtb, offStrings, sizeStrings, StandardCharsets.US_ASCII);
        assertEquals("#address-cells\0#size-cells\0compatible\0reg\0flag\0", strings);
    }

    @Test
    void dtcReadsItBackWithoutWarnings() throws Exception {
        Dtc.Result r = Dtc.decompile(sample());
        assertEquals(0, r.exitCode(), r.diagnostics());
        assertEquals("", r.diagnostics());
        assertTrue(r.dts().contains("/memreserve/\t0x0000000040000000 0x0000000000001000;"), r.dts());
        assertTrue(r.dts().contains("compatible = \"e,f\\0g\";"), r.dts());
        assertTrue(r.dts().contains("reg = <0x00 0x2000 0x00 0x10>;"), r.dts());
        assertTrue(r.dts().contains("flag;"), r.dts());
    }

    @Test
    void misuseIsRejected() {
        assertThrows(IllegalStateException.class, () -> new FdtWriter().finish(0), "no root");
        assertThrows(IllegalArgumentException.class, () -> new FdtWriter().beginNode("root"), "root must be unnamed");
        assertThrows(IllegalStateException.class, () -> new FdtWriter().beginNode("").beginNode("a").endNode()
                .propertyU32("late", 1), "property after child");
        assertThrows(IllegalStateException.class, () -> new FdtWriter().beginNode("").finish(0), "unclosed");
        assertThrows(IllegalStateException.class, () -> new FdtWriter().endNode());
        assertThrows(IllegalArgumentException.class, () -> new FdtWriter().beginNode("").beginNode("bad name"));
        assertThrows(IllegalArgumentException.class, () -> new FdtWriter().beginNode("").propertyStrings("s", "a\0b"));
        assertThrows(IllegalArgumentException.class, () -> new FdtWriter().beginNode("").property("x".repeat(32)));
    }
}
