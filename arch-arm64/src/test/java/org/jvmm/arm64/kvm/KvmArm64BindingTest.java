package org.jvmm.arm64.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.jvmm.arm64.Arm64Layout;
import org.junit.jupiter.api.Test;

/**
 * The arm64 KVM ABI as the binding encodes it, against values taken from the kernel's uapi headers
 * (arch/arm64/include/uapi/asm/kvm.h and include/uapi/linux/kvm.h of Linux 6.1, compiled for aarch64 with
 * {@code aarch64-linux-gnu-gcc} and read from the object file) — this host is x86, so no arm64 KVM can answer.
 */
class KvmArm64BindingTest {

    @Test
    void ioctlRequestNumbers() {
        assertEquals(0x4020aeaeL, KvmArm64Binding.KVM_ARM_VCPU_INIT);
        assertEquals(0x8020aeafL, KvmArm64Binding.KVM_ARM_PREFERRED_TARGET);
        assertEquals(0x4010aeabL, KvmArm64Binding.KVM_GET_ONE_REG);
        assertEquals(0x4010aeacL, KvmArm64Binding.KVM_SET_ONE_REG);
        assertEquals(0xc00caee0L, KvmArm64Binding.KVM_CREATE_DEVICE);
        assertEquals(0x4018aee1L, KvmArm64Binding.KVM_SET_DEVICE_ATTR);
        assertEquals(0x4004ae99L, KvmArm64Binding.KVM_SET_MP_STATE);
    }

    @Test
    void coreRegisterIds() {
        assertEquals(0x6030000000100040L, KvmArm64Binding.corePc());
        assertEquals(0x6030000000100042L, KvmArm64Binding.corePstate());
        assertEquals(0x603000000010003eL, KvmArm64Binding.coreSp());
        assertEquals(0x603000000010003cL, KvmArm64Binding.coreX(30));
        assertEquals(0x6030000000100002L, KvmArm64Binding.coreX(1));
        assertEquals(0x6030000000100000L, KvmArm64Binding.coreX(0));
        assertThrows(IllegalArgumentException.class, () -> KvmArm64Binding.coreX(31));
        assertThrows(IllegalArgumentException.class, () -> KvmArm64Binding.coreX(-1));
    }

    @Test
    void systemRegisterIds() {
        assertEquals(0x603000000013c005L, KvmArm64Binding.MPIDR_EL1);
        assertEquals(0x603000000013df1aL, KvmArm64Binding.sysReg(3, 3, 14, 3, 2)); // CNTV_CTL_EL0
        assertThrows(IllegalArgumentException.class, () -> KvmArm64Binding.sysReg(4, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> KvmArm64Binding.sysReg(3, 0, 16, 0, 0));
    }

    @Test
    void irqLineEncodesSpis() {
        assertEquals(0x01000030, KvmArm64Binding.irqLineSpi(16)); // the first virtio-mmio SPI
        assertEquals(0x01000021, KvmArm64Binding.irqLineSpi(Arm64Layout.UART_SPI));
        assertThrows(IllegalArgumentException.class, () -> KvmArm64Binding.irqLineSpi(-1));
        assertThrows(IllegalArgumentException.class, () -> KvmArm64Binding.irqLineSpi(1019 - 32 + 1));
    }

    @Test
    void vgicAndVcpuInitConstants() {
        assertEquals(7, KvmArm64Binding.KVM_DEV_TYPE_ARM_VGIC_V3);
        assertEquals(2, KvmArm64Binding.KVM_VGIC_V3_ADDR_TYPE_DIST);
        assertEquals(3, KvmArm64Binding.KVM_VGIC_V3_ADDR_TYPE_REDIST);
        assertEquals(0, KvmArm64Binding.KVM_DEV_ARM_VGIC_GRP_ADDR);
        assertEquals(3, KvmArm64Binding.KVM_DEV_ARM_VGIC_GRP_NR_IRQS);
        assertEquals(4, KvmArm64Binding.KVM_DEV_ARM_VGIC_GRP_CTRL);
        assertEquals(0, KvmArm64Binding.KVM_DEV_ARM_VGIC_CTRL_INIT);
        assertEquals(0, KvmArm64Binding.KVM_ARM_VCPU_POWER_OFF);
        assertEquals(2, KvmArm64Binding.KVM_ARM_VCPU_PSCI_0_2);
        assertEquals(5, KvmArm64Binding.KVM_MP_STATE_STOPPED);
        assertEquals(70, KvmArm64Binding.KVM_CAP_ONE_REG);
        assertEquals(89, KvmArm64Binding.KVM_CAP_DEVICE_CTRL);
        assertEquals(102, KvmArm64Binding.KVM_CAP_ARM_PSCI_0_2);
        assertEquals(177, KvmArm64Binding.KVM_CAP_ARM_NISV_TO_USER);
        assertEquals(0x1c, Arm64ExitDecoder.KVM_EXIT_ARM_NISV);
    }

    @Test
    void structSizes() {
        assertEquals(0x18, KvmArm64Binding.DEVICE_ATTR_SIZE);
        assertEquals(0xc, KvmArm64Binding.CREATE_DEVICE_SIZE);
        assertEquals(0x20, KvmArm64Binding.VCPU_INIT_SIZE);
    }

    @Test
    void vgicGetsEnoughSpisForTheLayout() {
        int highest = Math.max(Arm64Layout.UART_SPI, Arm64Layout.virtioMmioSpi(Arm64Layout.VIRTIO_MMIO_COUNT - 1));
        assertEquals(0, (Arm64Layout.SPI_BASE_INTID + KvmArm64Vm.SPI_COUNT) % 32, "NR_IRQS must be a multiple of 32");
        assertEquals(true, highest < KvmArm64Vm.SPI_COUNT);
    }
}
