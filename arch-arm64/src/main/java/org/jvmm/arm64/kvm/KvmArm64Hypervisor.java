package org.jvmm.arm64.kvm;

import org.jvmm.core.ConfigurationException;
import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.sys.linux.kvm.KvmIoctl;
import org.jvmm.core.sys.linux.kvm.KvmSystem;

/**
 * KVM on an arm64 Linux host: the {@link Hypervisor} for arm64 guests there.
 *
 * <p>Opening checks everything a VM will need up front — memory slots, {@code immediate_exit} for the kick,
 * ioeventfd and irqfd, one-reg access, the device-control API (for the vGICv3) and in-kernel PSCI 0.2 — so
 * that a host lacking one fails with one clear sentence instead of in the middle of a boot.
 */
public final class KvmArm64Hypervisor implements Hypervisor {

    private final KvmSystem kvm;

    private KvmArm64Hypervisor(KvmSystem kvm) {
        this.kvm = kvm;
    }

    /** Whether this process would use KVM for arm64 guests: an arm64 Linux host. */
    public static boolean selected() {
        return Platforms.hostArch().equals("arm64") && System.getProperty("os.name", "").startsWith("Linux");
    }

    /**
     * Opens {@code /dev/kvm}.
     *
     * @throws ConfigurationException if the host is not arm64 Linux, has no usable KVM, or lacks a capability
     */
    public static KvmArm64Hypervisor open() {
        if (!selected()) {
            throw new ConfigurationException("KVM runs arm64 guests only on an arm64 Linux host: use a Mac with Apple"
                    + " silicon or an arm64 Linux machine with KVM.");
        }
        KvmSystem kvm = KvmSystem.open();
        try {
            kvm.requireExtension(KvmIoctl.KVM_CAP_USER_MEMORY, "user memory slots");
            kvm.requireExtension(KvmIoctl.KVM_CAP_IMMEDIATE_EXIT, "immediate_exit");
            kvm.requireExtension(KvmIoctl.KVM_CAP_IOEVENTFD, "ioeventfd");
            kvm.requireExtension(KvmIoctl.KVM_CAP_IRQFD, "irqfd");
            kvm.requireExtension(KvmArm64Binding.KVM_CAP_ONE_REG, "one-register access");
            kvm.requireExtension(KvmArm64Binding.KVM_CAP_DEVICE_CTRL, "the device-control API (for the vGICv3)");
            kvm.requireExtension(KvmArm64Binding.KVM_CAP_ARM_PSCI_0_2, "in-kernel PSCI 0.2");
            return new KvmArm64Hypervisor(kvm);
        } catch (RuntimeException e) {
            kvm.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return "kvm-arm64";
    }

    @Override
    public KvmArm64Vm createVm(GuestMemory memory) {
        return KvmArm64Vm.create(kvm, memory);
    }

    @Override
    public void close() {
        kvm.close();
    }
}
