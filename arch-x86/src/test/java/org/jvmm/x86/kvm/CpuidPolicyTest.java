package org.jvmm.x86.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jvmm.x86.cpu.CpuidEntry;
import org.junit.jupiter.api.Test;

/** The CPUID policy on hand-written supported-CPUID lists (values as a real AVX-capable CPU reports them). */
class CpuidPolicyTest {

    private static final int XSAVE = 1 << 26, OSXSAVE = 1 << 27, AVX = 1 << 28, HYPERVISOR = 1 << 31, HTT = 1 << 28;

    /** Leaf 1 with XSAVE and AVX, leaf 7 with AVX2, topology leaf 0xB, and a consistent leaf 0xD for x87|SSE|AVX. */
    private static List<CpuidEntry> supported(int xsaveAllSize, boolean avxSubleaf) {
        List<CpuidEntry> l = new ArrayList<>();
        l.add(new CpuidEntry(0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69));
        l.add(new CpuidEntry(1, 0, 0, 0x906ea, 0x00100800 | 0x7 << 24, XSAVE | AVX | 1, 0x0f8bfbff));
        l.add(new CpuidEntry(7, 0, 1, 0, 1 << 5 | 1 << 16 | 1 << 3, 0, 0));
        l.add(new CpuidEntry(0xb, 0, 1, 1, 1, 0x100, 0x7));
        l.add(new CpuidEntry(0xb, 1, 1, 4, 8, 0x201, 0x7));
        l.add(new CpuidEntry(0xd, 0, 1, 0x7, 0x340, xsaveAllSize, 0));
        l.add(new CpuidEntry(0xd, 1, 1, 0x1, 0, 0, 0));
        if (avxSubleaf) l.add(new CpuidEntry(0xd, 2, 1, 0x100, 0x240, 0, 0)); // AVX state: 256 bytes at 576
        l.add(new CpuidEntry(0x80000001, 0, 0, 0, 0, 0x121, 0x2c100800));
        return List.copyOf(l);
    }

    private static CpuidEntry find(List<CpuidEntry> l, int function, int index) {
        return l.stream().filter(e -> e.function() == function && e.index() == index).findFirst().orElse(null);
    }

    @Test
    void setsApicIdCountAndHypervisorBit() {
        List<CpuidEntry> out = CpuidPolicy.forVcpu(supported(0x340, true), 2, 4);
        CpuidEntry leaf1 = find(out, 1, 0);
        assertEquals(2, leaf1.ebx() >>> 24, "initial APIC ID");
        assertEquals(4, (leaf1.ebx() >>> 16) & 0xff, "logical processor count");
        assertEquals(0x0800, leaf1.ebx() & 0xffff, "CLFLUSH size and brand index kept");
        assertTrue((leaf1.ecx() & HYPERVISOR) != 0);
        assertTrue((leaf1.edx() & HTT) != 0);
        assertEquals(new CpuidEntry(0xb, 0, 1, 0, 1, 0x100, 2), find(out, 0xb, 0), "SMT level: one thread per core");
        assertEquals(new CpuidEntry(0xb, 1, 1, 2, 4, 0x201, 2), find(out, 0xb, 1), "core level: 4 cores, 2 ID bits");
        assertEquals(find(supported(0x340, true), 0x80000001, 0), find(out, 0x80000001, 0), "other leaves untouched");
    }

    @Test
    void coreIdWidthCoversEveryCount() {
        assertEquals(0, find(CpuidPolicy.forVcpu(supported(0x340, true), 0, 1), 0xb, 1).eax());
        assertEquals(1, find(CpuidPolicy.forVcpu(supported(0x340, true), 1, 2), 0xb, 1).eax());
        assertEquals(2, find(CpuidPolicy.forVcpu(supported(0x340, true), 2, 3), 0xb, 1).eax());
        assertEquals(3, find(CpuidPolicy.forVcpu(supported(0x340, true), 4, 5), 0xb, 1).eax());
        assertEquals(3, find(CpuidPolicy.forVcpu(supported(0x340, true), 7, 8), 0xb, 1).eax());
    }

    @Test
    void oneVcpuHasNoHtt() {
        CpuidEntry leaf1 = find(CpuidPolicy.forVcpu(supported(0x340, true), 0, 1), 1, 0);
        assertEquals(0, leaf1.ebx() >>> 24);
        assertEquals(1, (leaf1.ebx() >>> 16) & 0xff);
        assertEquals(0x0f8bfbff & ~HTT, leaf1.edx() & ~HTT);
    }

    @Test
    void consistentXsaveIsKept() {
        List<CpuidEntry> out = CpuidPolicy.forVcpu(supported(0x340, true), 0, 1);
        assertTrue((find(out, 1, 0).ecx() & (XSAVE | AVX)) == (XSAVE | AVX));
        assertEquals(find(supported(0x340, true), 0xd, 2), find(out, 0xd, 2));
        assertEquals(1 << 5 | 1 << 16 | 1 << 3, find(out, 7, 0).ebx());
    }

    @Test
    void xsaveAreaTooSmallForAComponentHidesXsave() {
        // AVX state ends at 576 + 256 = 832 bytes, but the CPU claims the whole area is 0x300 = 768.
        assertHidden(CpuidPolicy.forVcpu(supported(0x300, true), 0, 1));
    }

    @Test
    void aSupportedComponentWithoutItsSubleafHidesXsave() {
        assertHidden(CpuidPolicy.forVcpu(supported(0x340, false), 0, 1));
    }

    private static void assertHidden(List<CpuidEntry> out) {
        assertEquals(0, find(out, 1, 0).ecx() & (XSAVE | OSXSAVE | AVX));
        assertTrue(out.stream().noneMatch(e -> e.function() == 0xd), "leaf 0xD dropped");
        assertEquals(1 << 3, find(out, 7, 0).ebx(), "AVX2 and AVX-512F hidden, other bits kept");
        assertTrue((find(out, 1, 0).ecx() & 1) != 0, "SSE3 kept");
    }

    @Test
    void noXsaveOfferedIsConsistent() {
        List<CpuidEntry> none = List.of(new CpuidEntry(1, 0, 0, 0, 0, 1, 0));
        assertTrue(CpuidPolicy.xsaveConsistent(none));
        assertFalse(CpuidPolicy.xsaveConsistent(List.of(new CpuidEntry(1, 0, 0, 0, 0, XSAVE, 0))), "XSAVE without leaf 0xD");
    }

    @Test
    void rejectsImpossibleTopologies() {
        assertThrows(IllegalArgumentException.class, () -> CpuidPolicy.forVcpu(supported(0x340, true), 1, 1));
        assertThrows(IllegalArgumentException.class, () -> CpuidPolicy.forVcpu(supported(0x340, true), 0, 0));
        assertThrows(IllegalArgumentException.class, () -> CpuidPolicy.forVcpu(supported(0x340, true), -1, 2));
    }

    @Test
    void theSupportedListIsNotModified() {
        List<CpuidEntry> in = supported(0x300, true);
        List<CpuidEntry> copy = List.copyOf(in);
        CpuidPolicy.forVcpu(in, 0, 2);
        assertEquals(copy, in);
    }
}
