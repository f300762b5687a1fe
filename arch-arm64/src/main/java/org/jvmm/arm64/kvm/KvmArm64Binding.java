package org.jvmm.arm64.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jvmm.core.sys.linux.kvm.KvmIoctl;

/**
 * The arm64-only part of the KVM API, per {@code <asm/kvm.h>} (arch/arm64/include/uapi/asm/kvm.h),
 * the device-control part of {@code <linux/kvm.h>} and Documentation/virt/kvm/api.rst and
 * devices/arm-vgic-v3.rst: vCPU initialisation, one-register access with the arm64 register IDs, the
 * in-kernel GICv3 device and the arm64 encoding of {@code KVM_IRQ_LINE}.
 *
 * <p>Struct layouts are written out as offsets, each with its C declaration, because the kernel's ABI is
 * those offsets. The ID and encoding helpers are pure so that tests can check them against the header's values.
 */
public final class KvmArm64Binding {

    private KvmArm64Binding() {}

    // struct kvm_vcpu_init { __u32 target; __u32 features[7]; }: 32 bytes.
    static final long VCPU_INIT_SIZE = 32;
    // struct kvm_one_reg { __u64 id; __u64 addr; }: 16 bytes.
    static final long ONE_REG_SIZE = 16;
    // struct kvm_create_device { __u32 type; __u32 fd; __u32 flags; }: 12 bytes.
    static final long CREATE_DEVICE_SIZE = 12;
    // struct kvm_device_attr { __u32 flags; __u32 group; __u64 attr; __u64 addr; }: 24 bytes.
    static final long DEVICE_ATTR_SIZE = 24;
    // struct kvm_mp_state { __u32 mp_state; }: 4 bytes.
    static final long MP_STATE_SIZE = 4;

    public static final long KVM_SET_MP_STATE = KvmIoctl.iow(0x99, MP_STATE_SIZE);
    public static final long KVM_GET_ONE_REG = KvmIoctl.iow(0xab, ONE_REG_SIZE);
    public static final long KVM_SET_ONE_REG = KvmIoctl.iow(0xac, ONE_REG_SIZE);
    public static final long KVM_ARM_VCPU_INIT = KvmIoctl.iow(0xae, VCPU_INIT_SIZE);
    public static final long KVM_ARM_PREFERRED_TARGET = KvmIoctl.ior(0xaf, VCPU_INIT_SIZE);
    public static final long KVM_CREATE_DEVICE = KvmIoctl.iowr(0xe0, CREATE_DEVICE_SIZE);
    public static final long KVM_SET_DEVICE_ATTR = KvmIoctl.iow(0xe1, DEVICE_ATTR_SIZE);

    // Capabilities the backend needs beyond the arch-neutral ones.
    public static final int KVM_CAP_ONE_REG = 70;
    public static final int KVM_CAP_DEVICE_CTRL = 89;
    public static final int KVM_CAP_ARM_PSCI_0_2 = 102;
    /** Data aborts without a valid syndrome exit to user space as {@code KVM_EXIT_ARM_NISV}. */
    public static final int KVM_CAP_ARM_NISV_TO_USER = 177;

    // kvm_vcpu_init.features[0] bits.
    /** The vCPU starts powered off, waiting for a PSCI CPU_ON (secondaries). */
    public static final int KVM_ARM_VCPU_POWER_OFF = 0;
    /** PSCI 0.2 (and later, as the kernel offers) handled in the kernel. */
    public static final int KVM_ARM_VCPU_PSCI_0_2 = 2;

    /** {@code KVM_MP_STATE_STOPPED}: powered off until a PSCI CPU_ON. */
    public static final int KVM_MP_STATE_STOPPED = 5;

    // enum kvm_device_type.
    public static final int KVM_DEV_TYPE_ARM_VGIC_V3 = 7;
    // devices/arm-vgic-v3.rst attribute groups and attributes.
    public static final int KVM_DEV_ARM_VGIC_GRP_ADDR = 0;
    public static final int KVM_DEV_ARM_VGIC_GRP_NR_IRQS = 3;
    public static final int KVM_DEV_ARM_VGIC_GRP_CTRL = 4;
    public static final long KVM_VGIC_V3_ADDR_TYPE_DIST = 2;
    public static final long KVM_VGIC_V3_ADDR_TYPE_REDIST = 3;
    public static final long KVM_DEV_ARM_VGIC_CTRL_INIT = 0;

    // One-register IDs: KVM_REG_ARM64 | size | coprocessor group | index.
    static final long KVM_REG_ARM64 = 0x6000_0000_0000_0000L;
    static final long KVM_REG_SIZE_U64 = 0x0030_0000_0000_0000L;
    static final long KVM_REG_ARM_CORE = 0x0010L << 16;
    static final long KVM_REG_ARM64_SYSREG = 0x0013L << 16;

    // struct kvm_regs { struct user_pt_regs { __u64 regs[31]; __u64 sp; __u64 pc; __u64 pstate; } regs; ... }:
    // a core register's ID carries its byte offset in kvm_regs divided by 4.
    private static final int CORE_SP = 31 * 8, CORE_PC = 32 * 8, CORE_PSTATE = 33 * 8;

    /** The one-reg ID of X{@code n} (0–30). */
    public static long coreX(int n) {
        if (n < 0 || n > 30) throw new IllegalArgumentException("X" + n + " is not a general-purpose register");
        return core(n * 8);
    }

    /** The one-reg ID of SP (SP_EL0 in kvm_regs' user_pt_regs). */
    public static long coreSp() { return core(CORE_SP); }

    /** The one-reg ID of the PC. */
    public static long corePc() { return core(CORE_PC); }

    /** The one-reg ID of PSTATE. */
    public static long corePstate() { return core(CORE_PSTATE); }

    private static long core(int byteOffset) {
        return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (byteOffset / 4);
    }

    /** The one-reg ID of system register (op0, op1, CRn, CRm, op2), {@code ARM64_SYS_REG} of asm/kvm.h. */
    public static long sysReg(int op0, int op1, int crn, int crm, int op2) {
        if (op0 < 0 || op0 > 3 || op1 < 0 || op1 > 7 || crn < 0 || crn > 15 || crm < 0 || crm > 15 || op2 < 0 || op2 > 7) {
            throw new IllegalArgumentException("not a system register encoding: " + op0 + "," + op1 + "," + crn + "," + crm + "," + op2);
        }
        return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG
                | ((long) op0 << 14) | ((long) op1 << 11) | ((long) crn << 7) | ((long) crm << 3) | op2;
    }

    /** MPIDR_EL1 (3, 0, c0, c0, 5). */
    public static final long MPIDR_EL1 = sysReg(3, 0, 0, 0, 5);

    /**
     * The {@code irq} field of {@code struct kvm_irq_level} for SPI {@code spi} (INTID 32 + spi): irq_type
     * {@code KVM_ARM_IRQ_TYPE_SPI} (1) in bits 24–27, the INTID in bits 0–15 (api.rst, KVM_IRQ_LINE, arm64).
     */
    public static int irqLineSpi(int spi) {
        int intid = 32 + spi;
        if (spi < 0 || intid > 1019) throw new IllegalArgumentException("SPI " + spi + " has no INTID");
        return (1 << 24) | intid;
    }

    /** {@code KVM_ARM_PREFERRED_TARGET} on the VM: the target (CPU type) KVM_ARM_VCPU_INIT should name. */
    static int preferredTarget(int vmFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment init = a.allocate(VCPU_INIT_SIZE, 4);
            KvmIoctl.call(vmFd, "KVM_ARM_PREFERRED_TARGET", KVM_ARM_PREFERRED_TARGET, init);
            return init.get(JAVA_INT, 0);
        }
    }

    /** {@code KVM_ARM_VCPU_INIT}: resets the vCPU to {@code target} with {@code features} (bits of features[0]). */
    static void vcpuInit(int vcpuFd, int target, int features) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment init = a.allocate(VCPU_INIT_SIZE, 4);
            init.set(JAVA_INT, 0, target);
            init.set(JAVA_INT, 4, features);
            KvmIoctl.call(vcpuFd, "KVM_ARM_VCPU_INIT", KVM_ARM_VCPU_INIT, init);
        }
    }

    /** {@code KVM_GET_ONE_REG} of a 64-bit register. */
    static long getOneReg(int vcpuFd, long id) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment value = a.allocate(JAVA_LONG);
            MemorySegment reg = oneReg(a, id, value);
            KvmIoctl.call(vcpuFd, "KVM_GET_ONE_REG 0x" + Long.toHexString(id), KVM_GET_ONE_REG, reg);
            return value.get(JAVA_LONG, 0);
        }
    }

    /** {@code KVM_SET_ONE_REG} of a 64-bit register. */
    static void setOneReg(int vcpuFd, long id, long v) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment value = a.allocate(JAVA_LONG);
            value.set(JAVA_LONG, 0, v);
            KvmIoctl.call(vcpuFd, "KVM_SET_ONE_REG 0x" + Long.toHexString(id), KVM_SET_ONE_REG, oneReg(a, id, value));
        }
    }

    private static MemorySegment oneReg(Arena a, long id, MemorySegment value) {
        MemorySegment reg = a.allocate(ONE_REG_SIZE, 8);
        reg.set(JAVA_LONG, 0, id);
        reg.set(JAVA_LONG, 8, value.address());
        return reg;
    }

    /** {@code KVM_SET_MP_STATE}. */
    static void setMpState(int vcpuFd, int state) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(MP_STATE_SIZE, 4);
            s.set(JAVA_INT, 0, state);
            KvmIoctl.call(vcpuFd, "KVM_SET_MP_STATE " + state, KVM_SET_MP_STATE, s);
        }
    }

    /** {@code KVM_CREATE_DEVICE} of {@code type}; returns the device's descriptor. */
    static int createDevice(int vmFd, int type) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(CREATE_DEVICE_SIZE, 4);
            d.set(JAVA_INT, 0, type);
            KvmIoctl.call(vmFd, "KVM_CREATE_DEVICE " + type, KVM_CREATE_DEVICE, d);
            return d.get(JAVA_INT, 4);
        }
    }

    /**
     * {@code KVM_SET_DEVICE_ATTR} with a 64-bit value: {@code addr} points to it (the vGIC's address and
     * NR_IRQS groups read a u64 or u32 there; CTRL_INIT reads nothing).
     */
    static void setDeviceAttr(int deviceFd, int group, long attr, long value, boolean u32) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            if (u32) v.set(JAVA_INT, 0, (int) value); else v.set(JAVA_LONG, 0, value);
            MemorySegment d = a.allocate(DEVICE_ATTR_SIZE, 8);
            d.set(JAVA_INT, 0, 0);
            d.set(JAVA_INT, 4, group);
            d.set(JAVA_LONG, 8, attr);
            d.set(JAVA_LONG, 16, v.address());
            KvmIoctl.call(deviceFd, "KVM_SET_DEVICE_ATTR group " + group + " attr " + attr, KVM_SET_DEVICE_ATTR, d);
        }
    }
}
