package org.jvmm.x86.cpu;

/**
 * One CPUID leaf/subleaf and the values a guest reads for it (KVM's {@code kvm_cpuid_entry2}).
 *
 * @param flags KVM_CPUID_FLAG_SIGNIFCANT_INDEX (1) when {@code index} selects a subleaf
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {}
