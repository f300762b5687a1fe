package org.jvmm.core.sys.linux.kvm;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * An open {@code /dev/kvm}: the system-level KVM descriptor (Documentation/virt/kvm/api.rst §4, "system
 * ioctls"). Checks the API version on open and creates VMs.
 */
public final class KvmSystem implements AutoCloseable {

    /** Where the KVM device lives. */
    public static final String DEVICE = "/dev/kvm";

    private final int fd;
    private final int vcpuMmapSize;
    private final AtomicBoolean closed = new AtomicBoolean();

    private KvmSystem(int fd) {
        this.fd = fd;
        this.vcpuMmapSize = KvmIoctl.call(fd, "KVM_GET_VCPU_MMAP_SIZE", KvmIoctl.KVM_GET_VCPU_MMAP_SIZE, 0);
    }

    /**
     * Opens {@code /dev/kvm} and checks that it speaks API version 12.
     *
     * @throws ConfigurationException if there is no usable KVM, saying what to do
     */
    public static KvmSystem open() {
        int fd;
        try {
            fd = LinuxLibc.open(DEVICE, LinuxLibc.O_RDWR | LinuxLibc.O_CLOEXEC, 0);
        } catch (SysException e) {
            throw openFailure(e);
        }
        try {
            int version = KvmIoctl.call(fd, "KVM_GET_API_VERSION", KvmIoctl.KVM_GET_API_VERSION, 0);
            if (version != KvmIoctl.KVM_API_VERSION) {
                throw new ConfigurationException("KVM reports API version " + version + " but jvmm speaks version "
                        + KvmIoctl.KVM_API_VERSION + ": run on a Linux kernel with the standard KVM API.");
            }
            return new KvmSystem(fd);
        } catch (RuntimeException e) {
            LinuxLibc.close(fd);
            throw e;
        }
    }

    /** What the user must do about a failed open of {@code /dev/kvm}. */
    static ConfigurationException openFailure(SysException e) {
        return switch (e.errno()) {
            case Errno.ENOENT, Errno.ENODEV -> new ConfigurationException(DEVICE + " does not exist: load the KVM "
                    + "module (modprobe kvm_intel or kvm_amd) or run on a host with hardware virtualization.", e);
            case Errno.EACCES, Errno.EPERM -> new ConfigurationException("Cannot open " + DEVICE + " (permission "
                    + "denied): add your user to the kvm group (sudo usermod -aG kvm $USER) and log in again.", e);
            default -> new ConfigurationException("Cannot open " + DEVICE + " (" + e.getMessage()
                    + "): check that KVM works on this host.", e);
        };
    }

    /** The descriptor, for arch bindings' system ioctls (KVM_GET_SUPPORTED_CPUID). */
    public int fd() {
        return fd;
    }

    /** {@code KVM_CHECK_EXTENSION}: 0 if the capability is absent, otherwise a capability-specific value. */
    public int checkExtension(int capability) {
        return KvmIoctl.call(fd, "KVM_CHECK_EXTENSION " + capability, KvmIoctl.KVM_CHECK_EXTENSION, capability);
    }

    /**
     * Checks that KVM offers {@code capability}, which a backend cannot work without.
     *
     * @param what the capability in words, for the message
     * @throws ConfigurationException naming what is missing and what to do
     */
    public void requireExtension(int capability, String what) {
        if (checkExtension(capability) <= 0) {
            throw new ConfigurationException("This host's KVM lacks " + what + " (capability " + capability
                    + "): run jvmm on a Linux 4.11 or newer host with full KVM support.");
        }
    }

    /** The size of each vCPU's {@code kvm_run} mapping. */
    public int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /** {@code KVM_CREATE_VM} of machine type {@code type} (0 for the default on x86 and arm64). */
    public KvmVmFd createVm(long type) {
        int vm = KvmIoctl.call(fd, "KVM_CREATE_VM", KvmIoctl.KVM_CREATE_VM, type);
        return new KvmVmFd(vm, vcpuMmapSize);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) LinuxLibc.close(fd);
    }
}
