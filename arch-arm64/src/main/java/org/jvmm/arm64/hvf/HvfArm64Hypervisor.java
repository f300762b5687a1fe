package org.jvmm.arm64.hvf;

import java.util.List;
import org.jvmm.core.hypervisor.Hypervisor;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.memory.SharedGuestMemory;

/**
 * The Hypervisor.framework backend for arm64 guests on Apple silicon (the EL2 API of hvf-arm64.md), through the
 * {@link Hvf} binding. A process can hold one VM at a time; the framework has no handle to open or close, so
 * this object only guards that rule.
 *
 * <p>Verification status: this backend has run only on hvfsim, the simulated framework in the tests
 * ({@code arch-arm64/src/test/hvfsim}), never on a Mac.
 */
public final class HvfArm64Hypervisor implements Hypervisor {

    /** Apple silicon's page size: the granule of {@code hv_vm_map} (host address, IPA and size). */
    public static final long PAGE_SIZE = 16 * 1024;

    private final Hvf hvf;

    private HvfArm64Hypervisor(Hvf hvf) {
        this.hvf = hvf;
    }

    /**
     * Loads the framework (or the library {@value Hvf#LIBRARY_PROPERTY} names).
     *
     * @throws org.jvmm.core.ConfigurationException if it is missing
     */
    public static HvfArm64Hypervisor open() {
        return new HvfArm64Hypervisor(Hvf.get());
    }

    /** Whether this process would use this backend for arm64: on macOS, or with {@value Hvf#LIBRARY_PROPERTY} set. */
    public static boolean selected() {
        return Hvf.selected();
    }

    /**
     * Allocates guest RAM for {@code ranges} that device helpers can map too ({@link SharedGuestMemory}: a
     * shared memory object per range, whose descriptor travels to a helper in vhost-user's SET_MEM_TABLE),
     * 16 KiB-aligned as {@code hv_vm_map} needs. QEMU maps such memory into Hypervisor.framework the same way
     * for its vhost-user devices on macOS ({@code memory-backend-shm}); jvmm has not seen it on a Mac.
     *
     * @throws IllegalArgumentException if a range is not made of whole 16 KiB pages
     */
    public static GuestMemory allocateMemory(List<MemoryRange> ranges) {
        for (MemoryRange r : ranges) {
            if (r.guestAddress() % PAGE_SIZE != 0 || r.size() % PAGE_SIZE != 0) {
                throw new IllegalArgumentException("guest RAM " + r + " is not whole 16 KiB pages");
            }
        }
        return SharedGuestMemory.allocate(ranges, PAGE_SIZE);
    }

    @Override
    public String name() {
        return hvf.isRealFramework() ? "hvf-arm64" : "hvf-arm64 (simulated: " + hvf.source() + ")";
    }

    @Override
    public Vm createVm(GuestMemory memory) {
        return HvfArm64Vm.create(hvf, memory);
    }

    @Override
    public void close() {
        // Nothing to release: the framework stays loaded for the life of the process.
    }
}
