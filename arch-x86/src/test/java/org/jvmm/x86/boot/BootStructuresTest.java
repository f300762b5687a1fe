package org.jvmm.x86.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.loader.BzImage;
import org.jvmm.x86.X86Layout;
import org.jvmm.x86.cpu.Segment;
import org.jvmm.x86.cpu.X86SpecialRegisters;

/** Zero page, e820, GDT, page tables, registers and placement, checked against boot.rst and the SDM. */
class BootStructuresTest {

    @TempDir
    Path dir;

    static final long MiB = 1 << 20, GiB = 1L << 30;

    @Property(tries = 200)
    void e820DescribesExactlyTheRamOfTheLayoutLessTheBiosArea(@ForAll @LongRange(min = 32, max = 512 * 1024) long mib) {
        long bytes = mib * 2 * MiB;
        List<E820Entry> map = E820Map.of(bytes);
        long ram = 0;
        for (int i = 0; i < map.size(); i++) {
            E820Entry e = map.get(i);
            if (i > 0) assertTrue(e.address() >= map.get(i - 1).end(), "sorted, no overlap");
            if (e.type() == E820Entry.RAM) {
                ram += e.size();
                assertTrue(X86Layout.ramRanges(bytes).stream().anyMatch(r -> e.address() >= r.guestAddress() && e.end() <= r.end()),
                        "RAM in the map is RAM in guest memory: " + e);
                assertTrue(e.end() <= X86Layout.MMIO_HOLE_START || e.address() >= X86Layout.HIGH_MEMORY_START, "nothing in the hole");
            }
        }
        assertEquals(bytes - (X86Layout.HIGH_RAM_START - X86Layout.EBDA_START), ram);
        long regionBytes = X86Layout.ramRanges(bytes).stream().mapToLong(MemoryRange::size).sum();
        assertEquals(bytes, regionBytes);
        assertTrue(map.stream().anyMatch(e -> e.type() != E820Entry.RAM && e.address() <= X86Layout.RSDP
                && e.end() >= X86Layout.ACPI_END), "the ACPI tables are in reserved memory");
    }

    @Test
    void zeroPageHasTheHeaderAndTheLoaderFields() {
        byte[] header = new byte[0x268 - 0x1f1];
        header[0x211 - 0x1f1] = 0x01; // LOADED_HIGH from the kernel
        header[0x206 - 0x1f1] = 0x0f;
        header[0x207 - 0x1f1] = 0x02;
        List<E820Entry> e820 = E820Map.of(128 * MiB);
        ByteBuffer p = ByteBuffer.wrap(ZeroPage.build(header, 0x20000, 0x7000000L, 0x1234, e820, 0xe0000))
                .order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x020f, p.getShort(0x206));
        assertEquals((byte) 0xff, p.get(0x210));
        assertEquals(0x81, p.get(0x211) & 0xff);
        assertEquals(0xfe00, p.getShort(0x224) & 0xffff);
        assertEquals(0x20000, p.getInt(0x228));
        assertEquals(0x7000000, p.getInt(0x218));
        assertEquals(0x1234, p.getInt(0x21c));
        assertEquals(0, p.getInt(0x0c0));
        assertEquals(0xe0000, p.getLong(0x070));
        assertEquals(e820.size(), p.get(0x1e8));
        for (int i = 0; i < e820.size(); i++) {
            assertEquals(e820.get(i).address(), p.getLong(0x2d0 + 20 * i));
            assertEquals(e820.get(i).size(), p.getLong(0x2d0 + 20 * i + 8));
            assertEquals(e820.get(i).type(), p.getInt(0x2d0 + 20 * i + 16));
        }
    }

    @Test
    void gdtSegmentsAreWhatTheBootProtocolRequires() {
        Segment cs = BootGdt.code();
        assertEquals(0x10, cs.selector());
        assertTrue(cs.l() && !cs.db() && cs.present() && cs.s());
        assertEquals(0xb, cs.type());
        Segment ds = BootGdt.data();
        assertEquals(0x18, ds.selector());
        assertEquals(0x3, ds.type());
        assertEquals(0, ds.base());
        assertEquals(0xffffffff, ds.limit());
        assertEquals(0x00af9b000000ffffL, BootGdt.CODE_64); // the kernel's GDT_ENTRY(0xa09b, 0, 0xfffff)
        assertEquals(0x00cf93000000ffffL, BootGdt.DATA);
        assertEquals(X86Layout.GDT_SIZE, BootGdt.bytes().length);
        assertEquals(X86Layout.TSS, BootGdt.tss().base());
    }

    @Test
    void registersEnterLongModeAtTheEntryWithTheZeroPageInRsi() {
        var r = BootRegisters.general(0x1000200);
        assertEquals(0x1000200, r.rip());
        assertEquals(X86Layout.ZERO_PAGE, r.rsi());
        assertEquals(2, r.rflags());
        X86SpecialRegisters s = BootRegisters.special();
        assertEquals(0x80000011L, s.cr0());
        assertEquals(0x20, s.cr4());
        assertEquals(0x500, s.efer());
        assertEquals(X86Layout.PML4, s.cr3());
        assertEquals(X86Layout.GDT, s.gdt().base());
        assertEquals(0xfee00900L, s.apicBase());
    }

    @Test
    void pageTablesIdentityMapFourGibWithTwoMibPages() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory m = new GuestMemory(List.of(new MemoryRegion(0, arena.allocate(MiB, 4096), -1, 0)), () -> {});
            PageTables.write(m);
            for (long va : new long[] {0, 0x1234567, 0xbfffffffL, 0xfec00000L, 0xffffffffL}) {
                long pml4e = m.read64(X86Layout.PML4 + 8 * ((va >>> 39) & 511));
                assertEquals(1, pml4e & 1);
                long pdpte = m.read64((pml4e & ~0xfffL) + 8 * ((va >>> 30) & 511));
                assertEquals(1, pdpte & 1);
                long pde = m.read64((pdpte & ~0xfffL) + 8 * ((va >>> 21) & 511));
                assertEquals(0x83, pde & 0x83, "present, writable, 2 MiB page");
                assertEquals(va, (pde & ~0x1fffffL) | (va & 0x1fffff), "identity");
            }
            assertTrue(X86Layout.PAGE_DIRECTORIES + 4 * 4096 <= X86Layout.CMDLINE);
        }
    }

    static BzImage kernel(boolean relocatable, long pref, long initSize) {
        byte[] f = new byte[0x400 + 0x1000];
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) 1).putInt(0x1f4, 0x100).putShort(0x1fe, (short) 0xaa55).put(0x200, (byte) 0xeb)
                .put(0x201, (byte) 0x6a).put(0x202, (byte) 'H').put(0x203, (byte) 'd').put(0x204, (byte) 'r')
                .put(0x205, (byte) 'S').putShort(0x206, (short) 0x020f).put(0x211, (byte) 1)
                .putInt(0x22c, 0x7fffffff).putInt(0x230, 0x200000).put(0x234, (byte) (relocatable ? 1 : 0))
                .putShort(0x236, (short) 1).putInt(0x238, 100).putLong(0x258, pref).putInt(0x260, (int) initSize);
        return BzImage.parse("test-kernel", f);
    }

    @Test
    void aRelocatableKernelGoesToPrefAddressWhenItFitsAndTo1MibOtherwise() {
        assertEquals(0x1000000, LinuxBoot.kernelAddress(kernel(true, 0x1000000, 8 * MiB), 64 * MiB));
        assertEquals(X86Layout.KERNEL_LOAD, LinuxBoot.kernelAddress(kernel(true, 0x1000000, 60 * MiB), 64 * MiB));
        assertEquals(X86Layout.KERNEL_LOAD, LinuxBoot.kernelAddress(kernel(false, 0x1000000, 8 * MiB), 64 * MiB));
        assertEquals(X86Layout.KERNEL_LOAD, LinuxBoot.kernelAddress(kernel(true, 0x1100000, 8 * MiB), 64 * MiB),
                "a misaligned pref_address is not used");
        assertThrows(ConfigurationException.class, () -> LinuxBoot.kernelAddress(kernel(true, 0x1000000, 100 * MiB), 64 * MiB));
    }

    @Test
    void theInitrdGoesHighPageAlignedAboveTheKernel() throws Exception {
        BzImage k = kernel(true, 0x1000000, 8 * MiB);
        long a = LinuxBoot.initrdAddress(k, 64 * MiB, 24 * MiB, 12345, dir);
        assertEquals(0, a % 4096);
        assertTrue(a + 12345 <= 64 * MiB && a + 12345 > 64 * MiB - 8192);
        assertThrows(ConfigurationException.class, () -> LinuxBoot.initrdAddress(k, 64 * MiB, 24 * MiB, 41 * MiB, dir));
        // initrd_addr_max below the top of RAM wins
        long capped = LinuxBoot.initrdAddress(k, 4 * GiB - GiB, 24 * MiB, 4096, dir);
        assertTrue(capped + 4096 - 1 <= 0x7fffffffL);
    }

    @Test
    void aCommandLineLongerThanTheKernelAcceptsIsAConfigurationError() {
        BzImage k = kernel(true, 0x1000000, 8 * MiB);
        assertEquals(101, LinuxBoot.commandLine(k, "x".repeat(100)).length);
        var e = assertThrows(ConfigurationException.class, () -> LinuxBoot.commandLine(k, "x".repeat(101)));
        assertTrue(e.getMessage().endsWith("shorten it."), e.getMessage());
        assertThrows(ConfigurationException.class, () -> LinuxBoot.commandLine(k, "a\0b"));
    }

    @Test
    void loadWritesKernelInitrdCommandLineAndZeroPage() throws Exception {
        Path initrd = Files.write(dir.resolve("initrd"), new byte[] {1, 2, 3, 4, 5});
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory m = new GuestMemory(List.of(new MemoryRegion(0, arena.allocate(64 * MiB, 4096), -1, 0)), () -> {});
            BzImage k = kernel(true, 0x1000000, 8 * MiB);
            LinuxBoot.Placement p = LinuxBoot.load(m, 64 * MiB, k, "console=ttyS0", Optional.of(initrd), X86Layout.RSDP);
            assertEquals(0x1000200, p.entry());
            assertEquals(5, p.initrdSize());
            assertEquals(3, m.read8(p.initrdAddress() + 2));
            assertEquals("console=ttyS0", new String(m.readBytes(X86Layout.CMDLINE, 13)));
            assertEquals(0, m.read8(X86Layout.CMDLINE + 13));
            assertEquals(p.initrdAddress(), m.read32(X86Layout.ZERO_PAGE + 0x218));
            assertEquals(0xff, m.read8(X86Layout.ZERO_PAGE + 0x210));
            assertFalse(p.initrdAddress() < p.kernelAddress() + 8 * MiB);
        }
    }

    @Test
    void pvhStartInfoFollowsXensLayout() {
        ByteBuffer b = ByteBuffer.wrap(ElfBoot.startInfo(0x20000, 0xe0000, 0x3000000, 999, 4)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x336ec578, b.getInt(0));
        assertEquals(1, b.getInt(4));
        assertEquals(1, b.getInt(12), "nr_modules");
        assertEquals(X86Layout.PVH_MODLIST, b.getLong(16));
        assertEquals(0x20000, b.getLong(24));
        assertEquals(0xe0000, b.getLong(32));
        assertEquals(X86Layout.PVH_MEMMAP, b.getLong(40));
        assertEquals(4, b.getInt(48));
        int mod = (int) (X86Layout.PVH_MODLIST - X86Layout.PVH_START_INFO);
        assertEquals(0x3000000, b.getLong(mod));
        assertEquals(999, b.getLong(mod + 8));
        assertEquals(0, ByteBuffer.wrap(ElfBoot.startInfo(0x20000, 0, 0, 0, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt(12),
                "no initrd, no module");
        assertTrue(X86Layout.PVH_MEMMAP + 128 * 24 <= X86Layout.ZERO_PAGE);
    }

    @Test
    void pvhEntryStateIsFlat32BitProtectedModeWithoutPaging() {
        X86SpecialRegisters s = BootRegisters.pvhSpecial();
        assertEquals(1, s.cr0() & 0x80000001L);
        assertEquals(0, s.cr4());
        assertEquals(0, s.efer());
        assertTrue(s.cs().db() && !s.cs().l());
        assertEquals(0xffffffffL, s.cs().limit() & 0xffffffffL);
        assertEquals(0x67, s.tr().limit());
        assertEquals(0xb, s.tr().type());
    }

    @Test
    void anElfSegmentOutsideRamIsAConfigurationError() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory m = new GuestMemory(List.of(new MemoryRegion(0, arena.allocate(64 * MiB, 4096), -1, 0)), () -> {});
            var low = new org.jvmm.loader.ElfKernel("vmlinux", 0x1000, List.of(new org.jvmm.loader.ElfKernel.Segment(0x1000, new byte[16], 16)),
                    java.util.OptionalLong.empty());
            assertThrows(ConfigurationException.class, () -> ElfBoot.load(m, 64 * MiB, low, "", Optional.empty(), 0));
            var high = new org.jvmm.loader.ElfKernel("vmlinux", 0x3ff0000, List.of(new org.jvmm.loader.ElfKernel.Segment(0x3ff0000, new byte[16], 0x20000)),
                    java.util.OptionalLong.empty());
            assertThrows(ConfigurationException.class, () -> ElfBoot.load(m, 64 * MiB, high, "", Optional.empty(), 0));
            var ok = new org.jvmm.loader.ElfKernel("vmlinux", 0x1000000, List.of(new org.jvmm.loader.ElfKernel.Segment(0x1000000, new byte[] {7}, 4096)),
                    java.util.OptionalLong.empty());
            m.write8(0x1000001, 0x55);
            BootCpu cpu = ElfBoot.load(m, 64 * MiB, ok, "x", Optional.empty(), 0);
            assertEquals(0x1000000, cpu.registers().rip(), "no PVH note: the 64-bit entry at e_entry");
            assertEquals(7, m.read8(0x1000000));
            assertEquals(0, m.read8(0x1000001), "the tail up to p_memsz is zeroed");
            assertEquals(0xaa55, m.read16(X86Layout.ZERO_PAGE + 0x1fe), "a synthesized header");
        }
    }
}
