package org.jvmm.x86.kvm;

import java.util.List;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.sys.linux.kvm.KvmIoctl;
import org.jvmm.core.sys.linux.kvm.KvmSystem;
import org.jvmm.x86.cpu.CpuidEntry;

/**
 * KVM on an x86-64 Linux host: the {@link Hypervisor} for x86-64 guests.
 *
 * <p>Opening checks everything a VM will need up front — user memory slots, ioeventfd, irqfd, the
 * in-kernel irqchip and PIT2 if asked for, and {@code immediate_exit} for the kick — so that a host that
 * lacks one fails with one clear sentence instead of in the middle of a boot.
 */
public final class KvmX86Hypervisor implements Hypervisor {

    private final KvmSystem kvm;
    private final KvmX86Options options;
    private volatile List<CpuidEntry> supportedCpuid;

    private KvmX86Hypervisor(KvmSystem kvm, KvmX86Options options) {
        this.kvm = kvm;
        this.options = options;
    }

    /**
     * Opens {@code /dev/kvm} for VMs built with {@code options}.
     *
     * @throws ConfigurationException if the host has no usable KVM or lacks a capability jvmm needs
     */
    public static KvmX86Hypervisor open(KvmX86Options options) {
        if (!System.getProperty("os.arch").equals("amd64") && !System.getProperty("os.arch").equals("x86_64")) {
            throw new ConfigurationException("KVM runs x86-64 guests only on an x86-64 host: use --arch "
                    + "matching this host or another backend.");
        }
        KvmSystem kvm = KvmSystem.open();
        try {
            kvm.requireExtension(KvmIoctl.KVM_CAP_USER_MEMORY, "user memory slots");
            kvm.requireExtension(KvmIoctl.KVM_CAP_IMMEDIATE_EXIT, "immediate_exit");
            kvm.requireExtension(KvmIoctl.KVM_CAP_IOEVENTFD, "ioeventfd");
            kvm.requireExtension(KvmIoctl.KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID");
            if (options.irqchip()) {
                kvm.requireExtension(KvmIoctl.KVM_CAP_IRQCHIP, "the in-kernel irqchip");
                kvm.requireExtension(KvmIoctl.KVM_CAP_IRQFD, "irqfd");
                kvm.requireExtension(KvmIoctl.KVM_CAP_PIT2, "the in-kernel PIT");
            }
            return new KvmX86Hypervisor(kvm, options);
        } catch (RuntimeException e) {
            kvm.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return "kvm";
    }

    /** The options VMs are built with. */
    public KvmX86Options options() {
        return options;
    }

    /** {@code KVM_GET_SUPPORTED_CPUID}, read once. */
    List<CpuidEntry> supportedCpuid() {
        List<CpuidEntry> s = supportedCpuid;
        if (s == null) supportedCpuid = s = KvmX86Binding.supportedCpuid(kvm.fd());
        return s;
    }

    /** The maximum number of vCPUs a VM may have on this host. */
    public int maxVcpus() {
        int max = kvm.checkExtension(KvmIoctl.KVM_CAP_MAX_VCPUS);
        return max > 0 ? max : Math.max(4, kvm.checkExtension(KvmIoctl.KVM_CAP_NR_VCPUS));
    }

    @Override
    public KvmX86Vm createVm(GuestMemory memory) {
        return KvmX86Vm.create(this, kvm, memory, options);
    }

    @Override
    public void close() {
        kvm.close();
    }
}
