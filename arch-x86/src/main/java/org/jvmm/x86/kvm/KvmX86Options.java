package org.jvmm.x86.kvm;

/**
 * How the KVM x86 backend builds a VM.
 *
 * @param irqchip             create KVM's in-kernel interrupt controllers (PIC, IOAPIC, one LAPIC per vCPU)
 *                            and PIT: what a Linux guest needs. Without it, {@code HLT} exits to the VMM
 *                            as {@link org.jvmm.core.hypervisor.VcpuExit.Halt} and there are no interrupt lines.
 * @param tssAddress          guest-physical address of the three pages KVM uses for real-mode emulation on
 *                            Intel hosts ({@code KVM_SET_TSS_ADDR}); must not overlap RAM or devices
 * @param identityMapAddress  guest-physical address of the one page of KVM's EPT identity map on Intel
 *                            hosts ({@code KVM_SET_IDENTITY_MAP_ADDR}); must not overlap RAM, devices or the TSS
 */
public record KvmX86Options(boolean irqchip, long tssAddress, long identityMapAddress) {

    public KvmX86Options {
        if ((tssAddress & 0xfff) != 0 || (identityMapAddress & 0xfff) != 0) {
            throw new IllegalArgumentException("the KVM TSS and identity-map addresses must be page-aligned");
        }
        if (identityMapAddress >= tssAddress && identityMapAddress < tssAddress + 3 * 4096) {
            throw new IllegalArgumentException("the KVM identity-map page must not lie inside the three TSS pages");
        }
    }
}
