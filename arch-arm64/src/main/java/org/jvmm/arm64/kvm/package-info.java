/**
 * KVM on an arm64 Linux host: the backend for arm64 guests there, built on the arch-neutral binding
 * {@code org.jvmm.core.sys.linux.kvm} plus {@link org.jvmm.arm64.kvm.KvmArm64Binding} for the arm64 ioctls of
 * {@code <asm/kvm.h>} (arch/arm64/include/uapi/asm/kvm.h). PSCI and the GICv3 live in the kernel; the VMM sees
 * MMIO and system-event exits only.
 */
package org.jvmm.arm64.kvm;
