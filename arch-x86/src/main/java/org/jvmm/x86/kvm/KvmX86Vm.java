package org.jvmm.x86.kvm;

import java.util.List;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.hypervisor.IoEventAddress;
import org.jvmm.core.irq.IrqLine;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.EventNotifier;
import org.jvmm.core.sys.linux.kvm.KvmIoctl;
import org.jvmm.core.sys.linux.kvm.KvmSystem;
import org.jvmm.core.sys.linux.kvm.KvmVmFd;
import org.jvmm.x86.cpu.CpuidEntry;
import org.jvmm.x86.cpu.X86Vm;

/**
 * An x86-64 VM on KVM: one memory slot per guest-memory region, optionally the in-kernel irqchip
 * (PIC, IOAPIC, LAPICs) and PIT, interrupt lines through {@code KVM_IRQ_LINE}, and ioeventfd / irqfd.
 *
 * <p>Set-up order follows Documentation/virt/kvm/api.rst: the TSS and identity-map addresses and the
 * irqchip must exist before the first vCPU; the PIT needs the irqchip.
 */
public final class KvmX86Vm implements X86Vm {

    /** KVM's in-kernel IOAPIC has 24 pins; GSIs 0–15 also reach the PIC. */
    public static final int IOAPIC_PINS = 24;

    private final KvmX86Hypervisor hypervisor;
    private final KvmVmFd vm;
    private final GuestMemory memory;
    private final KvmX86Options options;

    private KvmX86Vm(KvmX86Hypervisor hypervisor, KvmVmFd vm, GuestMemory memory, KvmX86Options options) {
        this.hypervisor = hypervisor;
        this.vm = vm;
        this.memory = memory;
        this.options = options;
    }

    static KvmX86Vm create(KvmX86Hypervisor hypervisor, KvmSystem kvm, GuestMemory memory, KvmX86Options options) {
        KvmVmFd vm = kvm.createVm(0);
        try {
            int slots = vm.checkExtension(KvmIoctl.KVM_CAP_NR_MEMSLOTS);
            if (memory.regions().size() > slots) {
                throw new ConfigurationException("Guest memory has " + memory.regions().size() + " regions but KVM "
                        + "offers " + slots + " memory slots: use fewer memory regions.");
            }
            KvmX86Binding.setTssAddress(vm.fd(), options.tssAddress());
            if (vm.checkExtension(KvmIoctl.KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
                KvmX86Binding.setIdentityMapAddress(vm.fd(), options.identityMapAddress());
            }
            if (options.irqchip()) {
                vm.createIrqchip();
                KvmX86Binding.createPit2(vm.fd());
            }
            List<MemoryRegion> regions = memory.regions();
            for (int slot = 0; slot < regions.size(); slot++) {
                MemoryRegion r = regions.get(slot);
                vm.setUserMemoryRegion(slot, 0, r.guestAddress(), r.segment());
            }
            return new KvmX86Vm(hypervisor, vm, memory, options);
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    /** Creates vCPU {@code id} on the calling thread, which must be the one that runs it. */
    @Override
    public KvmX86Vcpu createVcpu(int id) {
        return new KvmX86Vcpu(vm.createVcpu(id), id);
    }

    @Override
    public List<CpuidEntry> supportedCpuid() {
        return hypervisor.supportedCpuid();
    }

    /**
     * The in-kernel IOAPIC (and, for GSIs below 16, PIC) input {@code gsi}.
     *
     * @throws IllegalStateException    if the VM has no in-kernel irqchip
     * @throws IllegalArgumentException if {@code gsi} is not a pin of the IOAPIC
     */
    @Override
    public IrqLine irqLine(int gsi) {
        requireIrqchip();
        checkGsi(gsi);
        return asserted -> vm.irqLine(gsi, asserted);
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
        vm.ioeventfd(notifier.fd(), a.address(), a.length(), a.space() == IoEventAddress.Space.PIO,
                a.datamatch().isPresent() ? a.datamatch().getAsLong() : null, assign);
    }

    @Override
    public void registerIrqNotifier(EventNotifier notifier, int gsi) {
        requireIrqchip();
        checkGsi(gsi);
        vm.irqfd(notifier.fd(), gsi, true);
    }

    private void requireIrqchip() {
        if (!options.irqchip()) throw new IllegalStateException("this VM was created without the in-kernel irqchip");
    }

    private static void checkGsi(int gsi) {
        if (gsi < 0 || gsi >= IOAPIC_PINS) {
            throw new IllegalArgumentException("GSI " + gsi + " is not an IOAPIC pin (0.." + (IOAPIC_PINS - 1) + ")");
        }
    }

    @Override
    public void close() {
        vm.close();
    }
}
