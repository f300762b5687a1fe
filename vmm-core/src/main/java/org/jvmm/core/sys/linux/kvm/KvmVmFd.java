package org.jvmm.core.sys.linux.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A KVM VM descriptor (Documentation/virt/kvm/api.rst §4, "vm ioctls"): memory slots, the in-kernel
 * interrupt controller, interrupt lines, irqfd and ioeventfd, capabilities, vCPU creation. Thread-safe:
 * the kernel serialises these ioctls itself.
 */
public final class KvmVmFd implements AutoCloseable {

    // struct kvm_ioeventfd flags.
    private static final int IOEVENTFD_FLAG_DATAMATCH = 1, IOEVENTFD_FLAG_PIO = 2, IOEVENTFD_FLAG_DEASSIGN = 4;
    // struct kvm_irqfd flags.
    private static final int IRQFD_FLAG_DEASSIGN = 1;

    private final int fd;
    private final int vcpuMmapSize;
    private final AtomicBoolean closed = new AtomicBoolean();

    KvmVmFd(int fd, int vcpuMmapSize) {
        this.fd = fd;
        this.vcpuMmapSize = vcpuMmapSize;
    }

    /**
     * The descriptor, for arch bindings' VM ioctls.
     *
     * @throws IllegalStateException once closed: after close the number may already name another file,
     *         so a late caller (a device thread raising an interrupt) must not use it
     */
    public int fd() {
        if (closed.get()) throw new IllegalStateException("the VM is closed");
        return fd;
    }

    /** {@code KVM_CHECK_EXTENSION} on the VM (some capabilities depend on the VM type). */
    public int checkExtension(int capability) {
        return KvmIoctl.call(fd(), "KVM_CHECK_EXTENSION " + capability, KvmIoctl.KVM_CHECK_EXTENSION, capability);
    }

    /**
     * {@code KVM_SET_USER_MEMORY_REGION}: maps {@code host} at guest-physical {@code guestAddress} as slot
     * {@code slot} ({@code host}'s size is the slot's size; size 0 deletes the slot).
     */
    public void setUserMemoryRegion(int slot, int flags, long guestAddress, MemorySegment host) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(32, 8); // struct kvm_userspace_memory_region
            r.set(ValueLayout.JAVA_INT, 0, slot);
            r.set(ValueLayout.JAVA_INT, 4, flags);
            r.set(ValueLayout.JAVA_LONG, 8, guestAddress);
            r.set(ValueLayout.JAVA_LONG, 16, host.byteSize());
            r.set(ValueLayout.JAVA_LONG, 24, host.address());
            KvmIoctl.call(fd(), "KVM_SET_USER_MEMORY_REGION slot " + slot, KvmIoctl.KVM_SET_USER_MEMORY_REGION, r);
        }
    }

    /** {@code KVM_CREATE_IRQCHIP}: the in-kernel interrupt controller (x86: PIC + IOAPIC + LAPICs). */
    public void createIrqchip() {
        KvmIoctl.call(fd(), "KVM_CREATE_IRQCHIP", KvmIoctl.KVM_CREATE_IRQCHIP, 0);
    }

    /** {@code KVM_IRQ_LINE}: drives in-kernel interrupt controller input {@code irq} to {@code level}. */
    public void irqLine(int irq, boolean level) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = a.allocate(8, 4); // struct kvm_irq_level { irq; level; }
            l.set(ValueLayout.JAVA_INT, 0, irq);
            l.set(ValueLayout.JAVA_INT, 4, level ? 1 : 0);
            KvmIoctl.call(fd(), "KVM_IRQ_LINE " + irq, KvmIoctl.KVM_IRQ_LINE, l);
        }
    }

    /** {@code KVM_IRQFD}: each signal of eventfd {@code eventFd} raises {@code gsi} (edge); or deassigns it. */
    public void irqfd(int eventFd, int gsi, boolean assign) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(32, 8); // struct kvm_irqfd { fd; gsi; flags; resamplefd; pad[16]; }
            f.set(ValueLayout.JAVA_INT, 0, eventFd);
            f.set(ValueLayout.JAVA_INT, 4, gsi);
            f.set(ValueLayout.JAVA_INT, 8, assign ? 0 : IRQFD_FLAG_DEASSIGN);
            KvmIoctl.call(fd(), "KVM_IRQFD gsi " + gsi, KvmIoctl.KVM_IRQFD, f);
        }
    }

    /**
     * {@code KVM_IOEVENTFD}: signals eventfd {@code eventFd} on guest writes of {@code length} bytes at
     * {@code address} (a port if {@code pio}), optionally only of value {@code datamatch}; or deassigns it.
     */
    public void ioeventfd(int eventFd, long address, int length, boolean pio, Long datamatch, boolean assign) {
        try (Arena a = Arena.ofConfined()) {
            // struct kvm_ioeventfd { u64 datamatch; u64 addr; u32 len; s32 fd; u32 flags; u8 pad[36]; }
            MemorySegment e = a.allocate(64, 8);
            int flags = (pio ? IOEVENTFD_FLAG_PIO : 0) | (datamatch != null ? IOEVENTFD_FLAG_DATAMATCH : 0)
                    | (assign ? 0 : IOEVENTFD_FLAG_DEASSIGN);
            e.set(ValueLayout.JAVA_LONG, 0, datamatch != null ? datamatch : 0);
            e.set(ValueLayout.JAVA_LONG, 8, address);
            e.set(ValueLayout.JAVA_INT, 16, length);
            e.set(ValueLayout.JAVA_INT, 20, eventFd);
            e.set(ValueLayout.JAVA_INT, 24, flags);
            KvmIoctl.call(fd(), "KVM_IOEVENTFD 0x" + Long.toHexString(address), KvmIoctl.KVM_IOEVENTFD, e);
        }
    }

    /** {@code KVM_ENABLE_CAP} on the VM with up to four arguments. */
    public void enableCap(int capability, long... args) {
        if (args.length > 4) throw new IllegalArgumentException("kvm_enable_cap takes at most 4 arguments");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(104, 8); // struct kvm_enable_cap { cap; flags; u64 args[4]; u8 pad[64]; }
            c.set(ValueLayout.JAVA_INT, 0, capability);
            for (int i = 0; i < args.length; i++) c.set(ValueLayout.JAVA_LONG, 8 + 8L * i, args[i]);
            KvmIoctl.call(fd(), "KVM_ENABLE_CAP " + capability, KvmIoctl.KVM_ENABLE_CAP, c);
        }
    }

    /**
     * {@code KVM_CREATE_VCPU} {@code id} and maps its {@code kvm_run}. Call on the thread that will run
     * the vCPU: the returned descriptor remembers that thread for {@link KvmVcpuFd#kick()}.
     */
    public KvmVcpuFd createVcpu(int id) {
        int vcpu = KvmIoctl.call(fd(), "KVM_CREATE_VCPU " + id, KvmIoctl.KVM_CREATE_VCPU, id);
        try {
            return new KvmVcpuFd(vcpu, vcpuMmapSize);
        } catch (RuntimeException e) {
            LinuxLibc.close(vcpu);
            throw e;
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) LinuxLibc.close(fd);
    }
}
