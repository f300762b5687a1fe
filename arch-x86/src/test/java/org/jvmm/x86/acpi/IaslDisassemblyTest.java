package org.jvmm.x86.acpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.x86.X86Layout;

/**
 * The tables checked by an independent implementation: ACPICA's disassembler ({@code iasl -d}) must read
 * each one without errors or warnings, and what it prints must state the facts jvmm meant.
 */
class IaslDisassemblyTest {

    static final int CPUS = 3;
    static final List<DeviceDescription> DEVICES = List.of(
            new DeviceDescription("virtio-mmio", X86Layout.virtioMmioSlot(0), X86Layout.VIRTIO_MMIO_SLOT_SIZE, X86Layout.virtioGsi(0)),
            new DeviceDescription("virtio-mmio", X86Layout.virtioMmioSlot(1), X86Layout.VIRTIO_MMIO_SLOT_SIZE, X86Layout.virtioGsi(1)));

    @TempDir
    static Path dir;

    @BeforeAll
    static void needIasl() {
        boolean present = Files.isExecutable(Path.of("/usr/bin/iasl"));
        if (!present && Boolean.getBoolean("jvmm.requireAll")) fail("iasl is missing: apt-get install acpica-tools");
        assumeTrue(present, "iasl (acpica-tools) not installed");
    }

    /** Writes the table, disassembles it, and returns the .dsl text after checking iasl's verdict. */
    static String disassemble(String signature) throws IOException, InterruptedException {
        AcpiTables.Placed t = AcpiTables.build(CPUS, DEVICES).stream()
                .filter(p -> p.signature().equals(signature)).findFirst().orElseThrow();
        Path bin = dir.resolve(signature.toLowerCase().trim() + ".dat");
        Files.write(bin, t.bytes());
        Process p = new ProcessBuilder("iasl", "-d", bin.getFileName().toString()).directory(dir.toFile())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "iasl hung");
        assertEquals(0, p.exitValue(), log);
        assertFalse(log.matches("(?s).*\\b(Error|Warning)\\b.*"), log);
        String dsl = Files.readString(dir.resolve(bin.getFileName().toString().replace(".dat", ".dsl")));
        assertFalse(dsl.contains("**** Invalid") || dsl.contains("Error"), dsl);
        return dsl;
    }

    @Test
    void everyTableSumsToZeroAndTheRsdpHasBothChecksums() {
        // iasl 20200925 cannot disassemble a stand-alone RSDP, so its two checksums are summed here.
        for (AcpiTables.Placed t : AcpiTables.build(CPUS, DEVICES)) {
            byte[] b = t.bytes();
            int length = t.signature().equals("RSDP") ? 20 : b.length;
            assertEquals(0, sum(b, length), t.signature());
        }
        byte[] rsdp = AcpiTables.build(CPUS, DEVICES).getFirst().bytes();
        assertEquals("RSD PTR ", new String(rsdp, 0, 8, StandardCharsets.US_ASCII));
        assertEquals(2, rsdp[15]);
        assertEquals(36, rsdp[20]);
        assertEquals(0, sum(rsdp, 36));
        long xsdt = 0;
        for (int i = 0; i < 8; i++) xsdt |= (rsdp[24 + i] & 0xffL) << (8 * i);
        assertEquals(AcpiTables.build(CPUS, DEVICES).get(1).address(), xsdt);
        assertEquals(0, X86Layout.RSDP % 16, "the RSDP must be 16-byte aligned for the BIOS-area scan");
        assertTrue(X86Layout.RSDP >= 0xe0000 && X86Layout.RSDP + 36 <= 0x100000);
    }

    @Test
    void madtListsOneEnabledLocalApicPerCpuAndTheIoapic() throws Exception {
        String dsl = disassemble("APIC");
        assertEquals(CPUS, count(dsl, words("Subtable Type : 00 [Processor Local APIC]")), dsl);
        assertEquals(CPUS, count(dsl, words("Processor Enabled : 1")), dsl);
        for (int i = 0; i < CPUS; i++) {
            assertEquals(1, count(dsl, words("Local Apic ID : %02X".formatted(i))), dsl);
        }
        assertEquals(1, count(dsl, "(?s)" + words("Subtable Type : 01 [I/O APIC]") + ".{0,300}" + words("Address : FEC00000")), dsl);
        assertEquals(1, count(dsl, words("Local Apic Address : FEE00000")), dsl);
        assertEquals(1, count(dsl, words("Source : 00") + "\\s+.*" + words("Interrupt : 00000002")), dsl);
    }

    @Test
    void fadtIsHardwareReducedWithI8042ResetAndSleepRegisters() throws Exception {
        String dsl = disassemble("FACP");
        assertEquals(1, count(dsl, words("Hardware Reduced (V5) : 1")), dsl);
        assertEquals(1, count(dsl, words("Reset Register Supported (V2) : 1")), dsl);
        assertEquals(1, count(dsl, words("Value to cause reset : FE")), dsl);
        assertEquals(1, count(dsl, "(?s)" + words("Reset Register : [Generic Address Structure]") + ".{0,120}"
                + words("Space ID : 01 [SystemIO]") + ".{0,250}" + words("Address : 0000000000000064")), dsl);
        assertEquals(1, count(dsl, "(?s)" + words("Sleep Control Register :") + ".{0,400}" + words("Address : 0000000000000600")), dsl);
        assertEquals(1, count(dsl, "(?s)" + words("Sleep Status Register :") + ".{0,400}" + words("Address : 0000000000000601")), dsl);
        long dsdt = AcpiTables.build(CPUS, DEVICES).stream().filter(t -> t.signature().equals("DSDT")).findFirst().orElseThrow().address();
        assertEquals(1, count(dsl, words("DSDT Address : %016X".formatted(dsdt))), dsl);
    }

    @Test
    void xsdtNamesTheFadtAndMadt() throws Exception {
        String dsl = disassemble("XSDT");
        for (AcpiTables.Placed p : AcpiTables.build(CPUS, DEVICES)) {
            if (p.signature().equals("FACP") || p.signature().equals("APIC")) {
                assertEquals(1, count(dsl, "ACPI Table Address\\s+\\d+ : %016X".formatted(p.address())), p.signature() + "\n" + dsl);
            }
        }
        assertEquals(2, count(dsl, "ACPI Table Address"), dsl);
    }

    @Test
    void dsdtHasTheUartTheS5PackageAndOneVirtioDevicePerDescription() throws Exception {
        String dsl = disassemble("DSDT");
        assertEquals(1, count(dsl, words("EisaId (\"PNP0501\")")), dsl);
        assertEquals(1, count(dsl, "IO \\(Decode16,\\s*0x03F8,.*\\s*0x03F8,.*\\s*0x01,.*\\s*0x08,"), dsl);
        assertEquals(1, count(dsl, "IRQNoFlags \\(\\)\\s*\\{4\\}"), dsl);
        assertEquals(1, count(dsl, "Name \\(\\\\_S5, Package \\(0x04\\).*\\s*\\{\\s*0x05,"), dsl);
        assertEquals(DEVICES.size(), count(dsl, "\"LNRO0005\""), dsl);
        for (DeviceDescription d : DEVICES) {
            assertEquals(1, count(dsl, "Memory32Fixed \\(ReadWrite,\\s*0x%08X,.*\\s*0x%08X,"
                    .formatted(d.mmioBase(), d.mmioLength())), d + "\n" + dsl);
            assertEquals(1, count(dsl, "Interrupt \\(ResourceConsumer, Level, ActiveHigh, Exclusive, ,, \\)\\s*\\{\\s*0x%08X,"
                    .formatted(d.irq())), d + "\n" + dsl);
        }
    }

    /** A regex for {@code text} with any run of spaces matching any whitespace. */
    private static String words(String text) {
        StringBuilder b = new StringBuilder();
        for (String w : text.trim().split(" +")) {
            if (!b.isEmpty()) b.append("\\s+");
            b.append(Pattern.quote(w));
        }
        return b.toString();
    }

    private static int sum(byte[] b, int length) {
        int s = 0;
        for (int i = 0; i < length; i++) s += b[i] & 0xff;
        return s & 0xff;
    }

    private static int count(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        int n = 0;
        while (m.find()) n++;
        return n;
    }
}
