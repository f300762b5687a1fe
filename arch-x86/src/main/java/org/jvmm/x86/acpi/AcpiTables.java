package org.jvmm.x86.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.x86.X86Layout;
import org.jvmm.x86.devices.AcpiSleepControl;

/**
 * The ACPI tables of a jvmm x86 machine, generated in Java: RSDP (revision 2) → XSDT → FADT (revision 6,
 * hardware-reduced) and MADT; FADT → DSDT. They describe what jvmm emulates and nothing more:
 * <ul>
 *   <li>FADT: HW_REDUCED_ACPI, so there is no PM timer, no GPEs and no SCI; sleep control/status registers
 *       at {@link X86Layout#ACPI_SLEEP_PORT} (power-off); the reset register is the i8042 command port
 *       with value 0xfe (RESET_REG_SUP), so an ACPI reboot reaches jvmm's i8042; no 8042, VGA or CMOS
 *       RTC present (so Linux does not probe them).</li>
 *   <li>MADT: one enabled local APIC per vCPU (APIC ID = processor UID = vCPU index), the IOAPIC with
 *       GSI base 0, and the PC's IRQ0 → GSI2 override for the PIT.</li>
 *   <li>DSDT: COM1 (PNP0501, ISA IRQ 4), the {@code \_S5_} sleep-type package, and one {@code LNRO0005}
 *       (virtio-mmio) device per {@link DeviceDescription} with its register window and a level-triggered,
 *       active-high interrupt: the transport holds its line while its interrupt status is non-zero, and a
 *       level-triggered IOAPIC pin re-delivers an interrupt still asserted at EOI, so none is lost.</li>
 * </ul>
 * All tables are laid out from {@link X86Layout#ACPI_START}, RSDP first, each 16-byte aligned.
 */
public final class AcpiTables {

    /** One table at its guest-physical address. */
    public record Placed(String signature, long address, byte[] bytes) {}

    private AcpiTables() {}

    static final int FADT_REVISION = 6;
    static final int FADT_LENGTH = 276;
    static final int FADT_FLAG_WBINVD = 1;
    static final int FADT_FLAG_RESET_REG_SUP = 1 << 10;
    static final int FADT_FLAG_HW_REDUCED = 1 << 20;
    static final int BOOT_ARCH_VGA_NOT_PRESENT = 1 << 2;
    static final int BOOT_ARCH_CMOS_RTC_NOT_PRESENT = 1 << 5;
    /** The value written to the reset register: the i8042's "pulse reset line" command. */
    static final int RESET_VALUE = 0xfe;

    /**
     * Builds and places all tables.
     *
     * @param cpus    the number of vCPUs (1..255: 8-bit xAPIC IDs)
     * @param devices the virtio-mmio devices to describe
     * @return the tables, RSDP first, in ascending address order
     */
    public static List<Placed> build(int cpus, List<DeviceDescription> devices) {
        if (cpus < 1 || cpus > 255) throw new IllegalArgumentException("ACPI MADT supports 1..255 xAPIC CPUs: " + cpus);
        byte[] dsdt = dsdt(devices);
        byte[] madt = madt(cpus);
        long rsdp = X86Layout.RSDP;
        long xsdtAt = align(rsdp + 36);
        long dsdtAt = align(xsdtAt + AcpiTable.HEADER_SIZE + 16);
        long fadtAt = align(dsdtAt + dsdt.length);
        long madtAt = align(fadtAt + FADT_LENGTH);
        long end = madtAt + madt.length;
        if (end > X86Layout.ACPI_END) {
            throw new IllegalArgumentException("ACPI tables overflow the BIOS area: " + devices.size() + " devices");
        }
        byte[] fadt = fadt(dsdtAt);
        byte[] xsdt = xsdt(fadtAt, madtAt);
        List<Placed> all = new ArrayList<>();
        all.add(new Placed("RSDP", rsdp, rsdp(xsdtAt)));
        all.add(new Placed("XSDT", xsdtAt, xsdt));
        all.add(new Placed("DSDT", dsdtAt, dsdt));
        all.add(new Placed("FACP", fadtAt, fadt));
        all.add(new Placed("APIC", madtAt, madt));
        return List.copyOf(all);
    }

    /** RSDP revision 2 (§5.2.5.3): checksum over the first 20 bytes, extended checksum over all 36. */
    static byte[] rsdp(long xsdt) {
        ByteBuffer b = ByteBuffer.allocate(36).order(ByteOrder.LITTLE_ENDIAN);
        b.put(AcpiTable.ascii("RSD PTR ", 8)).put((byte) 0).put(AcpiTable.ascii(AcpiTable.OEM_ID, 6)).put((byte) 2)
                .putInt(0) // no RSDT: revision 2 readers use the XSDT
                .putInt(36).putLong(xsdt).put((byte) 0).put(new byte[3]);
        byte[] r = b.array();
        r[8] = AcpiTable.checksum(r, 0, 20);
        r[32] = AcpiTable.checksum(r, 0, 36);
        return r;
    }

    static byte[] xsdt(long... tables) {
        ByteBuffer b = ByteBuffer.allocate(8 * tables.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long t : tables) b.putLong(t);
        return AcpiTable.of("XSDT", 1, b.array());
    }

    /** FADT revision 6.0 (§5.2.9): only the fields a hardware-reduced platform uses are non-zero. */
    static byte[] fadt(long dsdt) {
        ByteBuffer b = ByteBuffer.allocate(FADT_LENGTH - AcpiTable.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0);                     // 36 FIRMWARE_CTRL: no FACS (hardware-reduced)
        b.putInt((int) dsdt);            // 40 DSDT
        b.put((byte) 0);                 // 44 reserved
        b.put((byte) 0);                 // 45 preferred PM profile: unspecified
        b.putShort((short) 0);           // 46 SCI_INT: none in hardware-reduced mode
        b.position(109 - 36);
        b.putShort((short) (BOOT_ARCH_VGA_NOT_PRESENT | BOOT_ARCH_CMOS_RTC_NOT_PRESENT)); // 109 IAPC_BOOT_ARCH
        b.put((byte) 0);                 // 111 reserved
        b.putInt(FADT_FLAG_WBINVD | FADT_FLAG_RESET_REG_SUP | FADT_FLAG_HW_REDUCED); // 112 flags
        Gas.ioByte(X86Layout.I8042_COMMAND_PORT).put(b); // 116 RESET_REG
        b.put((byte) RESET_VALUE);       // 128 RESET_VALUE
        b.putShort((short) 0);           // 129 ARM_BOOT_ARCH
        b.put((byte) 0);                 // 131 minor version: 6.0
        b.putLong(0);                    // 132 X_FIRMWARE_CTRL
        b.putLong(dsdt);                 // 140 X_DSDT
        for (int i = 0; i < 8; i++) Gas.NONE.put(b); // 148..243 X_PM1a_EVT .. X_GPE1: absent
        Gas.ioByte(X86Layout.ACPI_SLEEP_PORT).put(b);     // 244 SLEEP_CONTROL_REG
        Gas.ioByte(X86Layout.ACPI_SLEEP_PORT + 1).put(b); // 256 SLEEP_STATUS_REG
        b.putLong(0);                    // 268 hypervisor vendor identity
        return AcpiTable.of("FACP", FADT_REVISION, b.array());
    }

    /** MADT (§5.2.12) revision 5. */
    static byte[] madt(int cpus) {
        ByteBuffer b = ByteBuffer.allocate(8 + 8 * cpus + 12 + 10).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt((int) X86Layout.LAPIC);
        // PCAT_COMPAT: KVM's in-kernel irqchip does include 8259s. Linux in hardware-reduced mode ignores them
        // anyway (it installs no legacy PIC, so ISA GSIs get dynamic IRQ numbers: COM1 shows as "irq = 25").
        b.putInt(1);
        for (int i = 0; i < cpus; i++) {
            b.put((byte) 0).put((byte) 8).put((byte) i).put((byte) i).putInt(1); // processor local APIC, enabled
        }
        b.put((byte) 1).put((byte) 12).put((byte) 0).put((byte) 0).putInt((int) X86Layout.IOAPIC).putInt(0);
        b.put((byte) 2).put((byte) 10).put((byte) 0).put((byte) 0).putInt(2).putShort((short) 0); // IRQ0 -> GSI2
        return AcpiTable.of("APIC", 5, b.array());
    }

    /** DSDT revision 2 (64-bit integers). */
    static byte[] dsdt(List<DeviceDescription> devices) {
        List<byte[]> sb = new ArrayList<>();
        sb.add(Aml.device("COM1",
                Aml.name("_HID", Aml.eisaId("PNP0501")),
                Aml.name("_UID", Aml.integer(0)),
                Aml.name("_CRS", Aml.resourceTemplate(
                        Aml.io(X86Layout.COM1_PORT, 8),
                        Aml.irqNoFlags(X86Layout.COM1_GSI)))));
        for (int i = 0; i < devices.size(); i++) {
            DeviceDescription d = devices.get(i);
            if (!d.kind().equals("virtio-mmio")) {
                throw new IllegalArgumentException("the x86 DSDT describes virtio-mmio devices only, not " + d.kind());
            }
            sb.add(Aml.device("V%03X".formatted(i),
                    Aml.name("_HID", Aml.string("LNRO0005")),
                    Aml.name("_UID", Aml.integer(i)),
                    Aml.name("_CCA", Aml.integer(1)), // cache-coherent DMA
                    Aml.name("_CRS", Aml.resourceTemplate(
                            Aml.memory32Fixed(d.mmioBase(), d.mmioLength()),
                            // Level, as the transport drives its line (asserted while InterruptStatus is non-zero).
                            Aml.interrupt(d.irq(), true)))));
        }
        byte[] body = Aml.concat(
                Aml.scope("\\_SB_", sb.toArray(byte[][]::new)),
                // \_S5_: SLP_TYPa, SLP_TYPb, two reserved; the sleep register device matches SLP_TYPa.
                Aml.name("\\_S5_", Aml.packageOf(Aml.integer(AcpiSleepControl.S5_SLEEP_TYPE),
                        Aml.integer(0), Aml.integer(0), Aml.integer(0))));
        return AcpiTable.of("DSDT", 2, body);
    }

    private static long align(long address) {
        return (address + 15) & ~15L;
    }
}
