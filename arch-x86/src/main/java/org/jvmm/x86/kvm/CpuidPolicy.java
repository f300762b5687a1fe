package org.jvmm.x86.kvm;

import java.util.ArrayList;
import java.util.List;
import org.jvmm.x86.cpu.CpuidEntry;

/**
 * What CPUID tells each vCPU, derived from what KVM supports ({@code KVM_GET_SUPPORTED_CPUID}). Pure: a
 * list in, a list out.
 *
 * <p>The policy:
 * <ol>
 *   <li>Start from KVM's supported leaves unchanged: KVM already hides what it cannot virtualise.</li>
 *   <li>Leaf 1: EBX[31:24] = the vCPU's initial APIC ID, EBX[23:16] = the number of logical processors,
 *       EDX[28] (HTT) set when there is more than one (so the count field is meaningful), and ECX[31] = 1:
 *       "running under a hypervisor", which Linux uses to pick paravirtual paths and skip hardware quirks.</li>
 *   <li>Leaves 0xB and 0x1F (extended topology) describe the VM, not the host: level 0 is SMT with one
 *       thread per core (EAX shift 0, EBX 1, ECX type 1), level 1 is the core level with {@code cpuCount}
 *       cores (EAX = bits needed for the core ID, EBX = cpuCount, ECX type 2), higher subleaves are
 *       invalid (type 0); EDX of every subleaf = the vCPU's x2APIC ID. The host's own topology values
 *       would make the guest count cores and packages it does not have.</li>
 *   <li>Leaf 0xD (XSAVE): checked for consistency. Subleaf 0 EAX:EDX lists the XCR0 bits the CPU supports;
 *       every such bit from 2 up needs a subleaf describing its size and offset, and the sizes in subleaf 0
 *       (EBX for the enabled set, ECX for all supported components) must cover the legacy area plus header
 *       (576 bytes) and every component's {@code offset + size}. Nested KVM has been seen to report leaf 0xD
 *       that fails this (Linux then warns "XSAVE consistency problem" and may fault). If it is inconsistent,
 *       XSAVE is hidden altogether: leaf 1 ECX loses XSAVE (26), OSXSAVE (27) and AVX (28), leaf 7 EBX loses
 *       AVX2 (5) and AVX-512F (16), and leaf 0xD is dropped. A guest without XSAVE is slower at context
 *       switches but correct; a guest with a wrong XSAVE layout corrupts its own state.</li>
 * </ol>
 */
public final class CpuidPolicy {

    private CpuidPolicy() {}

    static final int LEAF_FEATURES = 1, LEAF_EXTENDED_FEATURES = 7, LEAF_TOPOLOGY = 0xB, LEAF_XSAVE = 0xD,
            LEAF_TOPOLOGY_V2 = 0x1F;
    static final int ECX_XSAVE = 1 << 26, ECX_OSXSAVE = 1 << 27, ECX_AVX = 1 << 28, ECX_HYPERVISOR = 1 << 31;
    static final int EDX_HTT = 1 << 28;
    static final int EBX7_AVX2 = 1 << 5, EBX7_AVX512F = 1 << 16;
    /** The legacy FXSAVE region (512 bytes) plus the XSAVE header (64 bytes). */
    static final int XSAVE_LEGACY_AND_HEADER = 576;

    /**
     * The CPUID entries for vCPU {@code apicId} of {@code cpuCount}.
     *
     * @throws IllegalArgumentException if {@code apicId} does not fit the 8-bit xAPIC ID field or
     *         {@code cpuCount} is not 1..255
     */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int apicId, int cpuCount) {
        if (apicId < 0 || apicId > 254 || cpuCount < 1 || cpuCount > 255 || apicId >= cpuCount) {
            throw new IllegalArgumentException("APIC ID " + apicId + " of " + cpuCount + " vCPUs is out of range");
        }
        boolean hideXsave = !xsaveConsistent(supported);
        List<CpuidEntry> out = new ArrayList<>(supported.size());
        for (CpuidEntry e : supported) {
            switch (e.function()) {
                case LEAF_FEATURES -> {
                    int ebx = (e.ebx() & 0x0000ffff) | (apicId << 24) | (cpuCount << 16);
                    int ecx = e.ecx() | ECX_HYPERVISOR;
                    if (hideXsave) ecx &= ~(ECX_XSAVE | ECX_OSXSAVE | ECX_AVX);
                    int edx = cpuCount > 1 ? e.edx() | EDX_HTT : e.edx();
                    out.add(new CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), ebx, ecx, edx));
                }
                case LEAF_EXTENDED_FEATURES -> out.add(hideXsave && e.index() == 0
                        ? new CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), e.ebx() & ~(EBX7_AVX2 | EBX7_AVX512F), e.ecx(), e.edx())
                        : e);
                case LEAF_TOPOLOGY, LEAF_TOPOLOGY_V2 -> out.add(topology(e, apicId, cpuCount));
                case LEAF_XSAVE -> {
                    if (!hideXsave) out.add(e);
                }
                default -> out.add(e);
            }
        }
        return List.copyOf(out);
    }

    private static CpuidEntry topology(CpuidEntry e, int apicId, int cpuCount) {
        int index = e.index();
        return switch (index) {
            // ECX[15:8] level type (1 SMT, 2 core), ECX[7:0] the subleaf; EAX[4:0] the shift to the next level's ID.
            case 0 -> new CpuidEntry(e.function(), 0, e.flags(), 0, 1, 1 << 8, apicId);
            case 1 -> new CpuidEntry(e.function(), 1, e.flags(), 32 - Integer.numberOfLeadingZeros(cpuCount - 1),
                    cpuCount, 2 << 8 | 1, apicId);
            default -> new CpuidEntry(e.function(), index, e.flags(), 0, 0, index & 0xff, apicId);
        };
    }

    /** Whether leaf 0xD describes every supported XSAVE component and sizes that hold them all (see the class comment). */
    static boolean xsaveConsistent(List<CpuidEntry> supported) {
        CpuidEntry leaf1 = find(supported, LEAF_FEATURES, 0);
        if (leaf1 == null || (leaf1.ecx() & ECX_XSAVE) == 0) return true; // no XSAVE offered: nothing to check
        CpuidEntry main = find(supported, LEAF_XSAVE, 0);
        if (main == null) return false;
        long xcr0 = Integer.toUnsignedLong(main.eax()) | (Integer.toUnsignedLong(main.edx()) << 32);
        if ((xcr0 & 3) != 3) return false; // x87 and SSE state are mandatory parts of XSAVE
        long allSize = Integer.toUnsignedLong(main.ecx());
        long enabledSize = Integer.toUnsignedLong(main.ebx());
        if (allSize < XSAVE_LEGACY_AND_HEADER || enabledSize > allSize) return false;
        for (int bit = 2; bit < 64; bit++) {
            if ((xcr0 & (1L << bit)) == 0) continue;
            CpuidEntry component = find(supported, LEAF_XSAVE, bit);
            if (component == null) return false;
            long size = Integer.toUnsignedLong(component.eax());
            long offset = Integer.toUnsignedLong(component.ebx());
            if (size == 0 || offset < XSAVE_LEGACY_AND_HEADER || offset + size > allSize) return false;
        }
        return true;
    }

    private static CpuidEntry find(List<CpuidEntry> entries, int function, int index) {
        for (CpuidEntry e : entries) {
            if (e.function() == function && e.index() == index) return e;
        }
        return null;
    }
}
