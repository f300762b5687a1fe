package org.jvmm.core.sys.linux.kvm;

import java.lang.foreign.MemorySegment;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * Request numbers and capability numbers of {@code <linux/kvm.h>} (arch-neutral part), the {@code _IOC}
 * encoding of {@code <asm-generic/ioctl.h>} for the architecture bindings, and the generic ioctl calls
 * they make on a KVM descriptor.
 */
public final class KvmIoctl {

    private KvmIoctl() {}

    /** {@code KVMIO}: the ioctl type byte of every KVM request. */
    public static final int KVMIO = 0xAE;

    // <asm-generic/ioctl.h>: dir << 30 | size << 16 | type << 8 | nr (x86-64 and arm64 use the generic layout).
    private static final int WRITE = 1, READ = 2;

    /** {@code _IO(KVMIO, nr)}. */
    public static long io(int nr) {
        return ioc(0, nr, 0);
    }

    /** {@code _IOR(KVMIO, nr, size)}: the kernel writes a {@code size}-byte struct. */
    public static long ior(int nr, long size) {
        return ioc(READ, nr, size);
    }

    /** {@code _IOW(KVMIO, nr, size)}: the kernel reads a {@code size}-byte struct. */
    public static long iow(int nr, long size) {
        return ioc(WRITE, nr, size);
    }

    /** {@code _IOWR(KVMIO, nr, size)}. */
    public static long iowr(int nr, long size) {
        return ioc(READ | WRITE, nr, size);
    }

    private static long ioc(int dir, int nr, long size) {
        return ((long) dir << 30) | (size << 16) | ((long) KVMIO << 8) | nr;
    }

    // System ioctls on /dev/kvm.
    public static final long KVM_GET_API_VERSION = io(0x00);
    public static final long KVM_CREATE_VM = io(0x01);
    public static final long KVM_CHECK_EXTENSION = io(0x03);
    public static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);
    // VM ioctls.
    public static final long KVM_CREATE_VCPU = io(0x41);
    /** struct kvm_userspace_memory_region: 32 bytes. */
    public static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, 32);
    public static final long KVM_CREATE_IRQCHIP = io(0x60);
    /** struct kvm_irq_level: 8 bytes. */
    public static final long KVM_IRQ_LINE = iow(0x61, 8);
    /** struct kvm_irqfd: 32 bytes. */
    public static final long KVM_IRQFD = iow(0x76, 32);
    /** struct kvm_ioeventfd: 64 bytes. */
    public static final long KVM_IOEVENTFD = iow(0x79, 64);
    /** struct kvm_enable_cap: 104 bytes. */
    public static final long KVM_ENABLE_CAP = iow(0xa3, 104);
    // vCPU ioctls.
    public static final long KVM_RUN = io(0x80);

    /** The API version every KVM since Linux 2.6.22 reports; anything else is not the API this binding follows. */
    public static final int KVM_API_VERSION = 12;

    // Capabilities (KVM_CAP_*).
    public static final int KVM_CAP_IRQCHIP = 0;
    public static final int KVM_CAP_USER_MEMORY = 3;
    public static final int KVM_CAP_SET_TSS_ADDR = 4;
    public static final int KVM_CAP_EXT_CPUID = 7;
    public static final int KVM_CAP_NR_VCPUS = 9;
    public static final int KVM_CAP_NR_MEMSLOTS = 10;
    public static final int KVM_CAP_IRQFD = 32;
    public static final int KVM_CAP_PIT2 = 33;
    public static final int KVM_CAP_IOEVENTFD = 36;
    public static final int KVM_CAP_SET_IDENTITY_MAP_ADDR = 37;
    public static final int KVM_CAP_MAX_VCPUS = 66;
    public static final int KVM_CAP_IMMEDIATE_EXIT = 136;

    /** {@code ioctl} with an integer argument on a KVM descriptor; throws {@link org.jvmm.core.sys.SysException}. */
    public static int call(int fd, String name, long request, long arg) {
        return LinuxLibc.ioctl(fd, name, request, arg);
    }

    /** {@code ioctl} with a struct argument on a KVM descriptor; throws {@link org.jvmm.core.sys.SysException}. */
    public static int call(int fd, String name, long request, MemorySegment struct) {
        return LinuxLibc.ioctl(fd, name, request, struct);
    }
}
