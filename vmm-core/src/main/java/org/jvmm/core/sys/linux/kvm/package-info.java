/**
 * The arch-neutral KVM binding, following {@code <linux/kvm.h>} and the kernel's
 * Documentation/virt/kvm/api.rst: the system, VM and vCPU descriptors, memory slots, ioeventfd, irqfd,
 * the mmap'd {@code kvm_run} structure and the vCPU kick. Architecture bindings (arch-x86's
 * {@code org.jvmm.x86.kvm}) build on its generic ioctl helpers.
 */
package org.jvmm.core.sys.linux.kvm;
