package org.jvmm.arm64.hvf;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jvmm.arm64.Arm64Layout;
import org.jvmm.core.hypervisor.HypervisorException;
import org.jvmm.core.hypervisor.IoEventAddress;
import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.irq.IrqLine;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.EventNotifier;

/**
 * The process's Hypervisor.framework VM: guest RAM mapped read/write/execute at its IPAs, the in-kernel GICv3
 * at {@link Arm64Layout}'s distributor and redistributor bases, and one virtual-counter offset shared by all
 * vCPUs (hvf-arm64.md §7.8: all vCPUs must use the same one, so the guest's counter starts at 0 everywhere).
 *
 * <p>Device interrupt lines are GIC SPIs driven with {@code hv_gic_set_spi}; raising one also wakes vCPUs parked
 * after a WFI. HVF has no ioeventfd or irqfd: {@link #supportsIoEvents()} is false and irq notifiers are served
 * by a VMM thread.
 */
final class HvfArm64Vm implements Vm {

    /** The IPA width jvmm asks for: {@link Arm64Layout#IPA_LIMIT} (36 bits, the framework's default). */
    static final int IPA_BITS = Long.numberOfTrailingZeros(Arm64Layout.IPA_LIMIT);

    private final Hvf hvf;
    private final GuestMemory memory;
    private final long vtimerOffset;
    private final int spiBase, spiCount;
    private final List<HvfArm64Vcpu> vcpus = new CopyOnWriteArrayList<>();
    private final List<Thread> notifierThreads = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    private HvfArm64Vm(Hvf hvf, GuestMemory memory, int spiBase, int spiCount) {
        this.hvf = hvf;
        this.memory = memory;
        this.spiBase = spiBase;
        this.spiCount = spiCount;
        this.vtimerOffset = hvf.machAbsoluteTime();
    }

    static HvfArm64Vm create(Hvf hvf, GuestMemory memory) {
        for (MemoryRegion r : memory.regions()) {
            if (r.guestAddress() % HvfArm64Hypervisor.PAGE_SIZE != 0 || r.size() % HvfArm64Hypervisor.PAGE_SIZE != 0
                    || r.segment().address() % HvfArm64Hypervisor.PAGE_SIZE != 0) {
                throw new IllegalArgumentException("guest RAM " + r + " is not 16 KiB-page aligned (host address 0x"
                        + Long.toHexString(r.segment().address()) + "): allocate it with HvfArm64Hypervisor.allocateMemory");
            }
            if (r.end() > Arm64Layout.IPA_LIMIT) {
                throw new IllegalArgumentException("guest RAM " + r + " ends beyond the " + IPA_BITS + "-bit IPA space");
            }
        }
        MemorySegment config = hvf.vmConfigCreate();
        try {
            if (!config.equals(MemorySegment.NULL)) {
                int max = hvf.vmConfigMaxIpaSize();
                if (max < IPA_BITS) {
                    throw new HypervisorException("Hypervisor.framework offers " + max + "-bit IPAs, fewer than the "
                            + IPA_BITS + " bits of jvmm's arm64 layout");
                }
                hvf.vmConfigSetIpaSize(config, IPA_BITS);
            }
            hvf.vmCreate(config);
        } finally {
            hvf.osRelease(config);
        }
        int mapped = 0;
        try {
            for (MemoryRegion r : memory.regions()) {
                hvf.vmMap(r.segment(), r.guestAddress(), r.size(), Hvf.HV_MEMORY_READ | Hvf.HV_MEMORY_WRITE | Hvf.HV_MEMORY_EXEC);
                mapped++;
            }
            // The GIC comes before any vCPU (hv_gic.h), at the layout's fixed bases once the host's rules allow them.
            long[] p = hvf.gicParameters();
            Arm64Layout.checkHostGic(p[0], p[1], p[2], p[3]);
            hvf.gicCreate(Arm64Layout.GIC_DIST_BASE, Arm64Layout.GIC_REDIST_BASE);
            int[] spis = hvf.gicSpiRange();
            return new HvfArm64Vm(hvf, memory, spis[0], spis[1]);
        } catch (RuntimeException e) {
            try {
                for (MemoryRegion r : memory.regions().subList(0, mapped)) hvf.vmUnmap(r.guestAddress(), r.size());
                hvf.vmDestroy();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    Hvf hvf() { return hvf; }

    long vtimerOffset() { return vtimerOffset; }

    void forget(HvfArm64Vcpu vcpu) { vcpus.remove(vcpu); }

    @Override
    public GuestMemory memory() { return memory; }

    @Override
    public Vcpu createVcpu(int id) {
        HvfArm64Vcpu v = HvfArm64Vcpu.create(this, id);
        vcpus.add(v);
        return v;
    }

    /**
     * SPI {@code gsi} (INTID 32 + gsi), level-driven. A rising level wakes every vCPU parked after a WFI: the
     * in-kernel GIC decides which one takes it, and the others go back to sleep.
     */
    @Override
    public IrqLine irqLine(int gsi) {
        int intid = Arm64Layout.SPI_BASE_INTID + gsi;
        if (gsi < 0 || gsi > Arm64Layout.MAX_SPI || intid < spiBase || intid >= spiBase + spiCount) {
            throw new IllegalArgumentException("SPI " + gsi + " is outside this GIC's SPI INTIDs " + spiBase + ".."
                    + (spiBase + spiCount - 1));
        }
        return asserted -> {
            hvf.gicSetSpi(intid, asserted);
            if (asserted) vcpus.forEach(HvfArm64Vcpu::wake);
        };
    }

    @Override
    public boolean supportsIoEvents() { return false; }

    @Override
    public void registerIoEvent(EventNotifier notifier, IoEventAddress address) {
        throw new UnsupportedOperationException("Hypervisor.framework has no ioeventfd: device writes arrive as MMIO exits");
    }

    @Override
    public void unregisterIoEvent(EventNotifier notifier, IoEventAddress address) {
        throw new UnsupportedOperationException("Hypervisor.framework has no ioeventfd: device writes arrive as MMIO exits");
    }

    /** A daemon thread waits on {@code notifier} and pulses the SPI: HVF has no irqfd. */
    @Override
    public void registerIrqNotifier(EventNotifier notifier, int gsi) {
        IrqLine line = irqLine(gsi);
        Thread t = Thread.ofPlatform().daemon().name("hvf-irq-" + gsi).start(() -> {
            try {
                while (!closed) {
                    notifier.await();
                    if (!closed) line.pulse();
                }
            } catch (RuntimeException e) {
                // The notifier was closed: the device is gone.
            }
        });
        notifierThreads.add(t);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        notifierThreads.forEach(Thread::interrupt);
        RuntimeException failure = null;
        for (MemoryRegion r : memory.regions()) {
            try {
                hvf.vmUnmap(r.guestAddress(), r.size());
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        try {
            hvf.vmDestroy();
        } catch (RuntimeException e) {
            if (failure == null) failure = e; else failure.addSuppressed(e);
        }
        if (failure != null) throw failure;
    }
}
