package org.jvmm.arm64.kvm;

import java.util.List;
import org.jvmm.arm64.Arm64Layout;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.hypervisor.IoEventAddress;
import org.jvmm.core.irq.IrqLine;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.jvmm.core.sys.linux.kvm.KvmIoctl;
import org.jvmm.core.sys.linux.kvm.KvmSystem;
import org.jvmm.core.sys.linux.kvm.KvmVmFd;
import org.jvmm.arm64.Arm64Vcpu;

/**
 * An arm64 VM on KVM: one memory slot per guest-memory region, the in-kernel GICv3 at {@link Arm64Layout}'s
 * distributor and redistributor bases, device SPIs through {@code KVM_IRQ_LINE}, and ioeventfd / irqfd.
 *
 * <p>Order (devices/arm-vgic-v3.rst): the vGIC device and its addresses come before the vCPUs; its
 * {@code KVM_DEV_ARM_VGIC_CTRL_INIT} must follow the creation of every vCPU and precede the first
 * {@code KVM_RUN}. The run loop creates all vCPUs before it lets any run, so the first vCPU to enter the guest
 * initialises the GIC ({@link #initGicOnce()}).
 */
public final class KvmArm64Vm implements org.jvmm.core.hypervisor.Vm {

    /**
     * SPIs the vGIC is given: INTIDs 32..127 (NR_IRQS counts the 32 private ones too and must be a multiple of 32).
     * jvmm's layout uses SPI 1 (the UART) and SPIs 16..47 (virtio-mmio).
     */
    public static final int SPI_COUNT = 96;

    private final KvmVmFd vm;
    private final GuestMemory memory;
    private final int gicFd;
    private final int target;
    private boolean gicInitialized; // guarded by this

    private KvmArm64Vm(KvmVmFd vm, GuestMemory memory, int gicFd, int target) {
        this.vm = vm;
        this.memory = memory;
        this.gicFd = gicFd;
        this.target = target;
    }

    static KvmArm64Vm create(KvmSystem kvm, GuestMemory memory) {
        KvmVmFd vm = kvm.createVm(0); // type 0: the default 40-bit IPA space, more than Arm64Layout.IPA_LIMIT
        int gic = -1;
        try {
            List<MemoryRegion> regions = memory.regions();
            int slots = vm.checkExtension(KvmIoctl.KVM_CAP_NR_MEMSLOTS);
            if (regions.size() > slots) {
                throw new ConfigurationException("Guest memory has " + regions.size() + " regions but KVM offers " + slots
                        + " memory slots: use fewer memory regions.");
            }
            for (int slot = 0; slot < regions.size(); slot++) {
                MemoryRegion r = regions.get(slot);
                if (r.end() > Arm64Layout.IPA_LIMIT) {
                    throw new IllegalArgumentException("guest RAM " + r + " ends beyond jvmm's arm64 IPA space");
                }
                vm.setUserMemoryRegion(slot, 0, r.guestAddress(), r.segment());
            }
            // A device access KVM cannot decode (no valid syndrome: load/store pair, writeback) would otherwise fail
            // KVM_RUN with ENOSYS and no address; with this capability it is an exit naming the IPA.
            if (vm.checkExtension(KvmArm64Binding.KVM_CAP_ARM_NISV_TO_USER) > 0) {
                vm.enableCap(KvmArm64Binding.KVM_CAP_ARM_NISV_TO_USER);
            }
            gic = KvmArm64Binding.createDevice(vm.fd(), KvmArm64Binding.KVM_DEV_TYPE_ARM_VGIC_V3);
            KvmArm64Binding.setDeviceAttr(gic, KvmArm64Binding.KVM_DEV_ARM_VGIC_GRP_ADDR,
                    KvmArm64Binding.KVM_VGIC_V3_ADDR_TYPE_DIST, Arm64Layout.GIC_DIST_BASE, false);
            KvmArm64Binding.setDeviceAttr(gic, KvmArm64Binding.KVM_DEV_ARM_VGIC_GRP_ADDR,
                    KvmArm64Binding.KVM_VGIC_V3_ADDR_TYPE_REDIST, Arm64Layout.GIC_REDIST_BASE, false);
            KvmArm64Binding.setDeviceAttr(gic, KvmArm64Binding.KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0,
                    Arm64Layout.SPI_BASE_INTID + SPI_COUNT, true);
            int target = KvmArm64Binding.preferredTarget(vm.fd());
            return new KvmArm64Vm(vm, memory, gic, target);
        } catch (RuntimeException e) {
            if (gic >= 0) LinuxLibc.close(gic);
            vm.close();
            throw e;
        }
    }

    /** {@code KVM_DEV_ARM_VGIC_CTRL_INIT}, once, when every vCPU exists (the first entry into the guest). */
    synchronized void initGicOnce() {
        if (gicInitialized) return;
        KvmArm64Binding.setDeviceAttr(gicFd, KvmArm64Binding.KVM_DEV_ARM_VGIC_GRP_CTRL,
                KvmArm64Binding.KVM_DEV_ARM_VGIC_CTRL_INIT, 0, false);
        gicInitialized = true;
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    /** Creates vCPU {@code id} on the calling thread, which must be the one that runs it. */
    @Override
    public Arm64Vcpu createVcpu(int id) {
        return new KvmArm64Vcpu(this, vm.createVcpu(id), id, target);
    }

    /** SPI {@code gsi} (INTID 32 + gsi), level-driven through {@code KVM_IRQ_LINE}. */
    @Override
    public IrqLine irqLine(int gsi) {
        checkSpi(gsi);
        int irq = KvmArm64Binding.irqLineSpi(gsi);
        return asserted -> vm.irqLine(irq, asserted);
    }

    @Override
    public boolean supportsIoEvents() {
        return true; // checked when the hypervisor was opened
    }

    @Override
    public void registerIoEvent(EventNotifier notifier, IoEventAddress address) {
        ioevent(notifier, address, true);
    }

    @Override
    public void unregisterIoEvent(EventNotifier notifier, IoEventAddress address) {
        ioevent(notifier, address, false);
    }

    private void ioevent(EventNotifier notifier, IoEventAddress a, boolean assign) {
        if (a.space() == IoEventAddress.Space.PIO) throw new IllegalArgumentException("arm64 has no port I/O: " + a);
        vm.ioeventfd(notifier.fd(), a.address(), a.length(), false,
                a.datamatch().isPresent() ? a.datamatch().getAsLong() : null, assign);
    }

    /** irqfd: on arm64 KVM's default routing maps GSI n to SPI n (INTID 32 + n), the numbering of {@link #irqLine}. */
    @Override
    public void registerIrqNotifier(EventNotifier notifier, int gsi) {
        checkSpi(gsi);
        vm.irqfd(notifier.fd(), gsi, true);
    }

    private static void checkSpi(int gsi) {
        if (gsi < 0 || gsi >= SPI_COUNT) {
            throw new IllegalArgumentException("SPI " + gsi + " is outside the vGIC's SPIs 0.." + (SPI_COUNT - 1));
        }
    }

    @Override
    public void close() {
        LinuxLibc.close(gicFd);
        vm.close();
    }
}
