package org.jvmm.core.hypervisor;

import org.jvmm.core.memory.GuestMemory;

/**
 * An open hypervisor API: the root of the lifecycle every backend implements.
 *
 * <p>Lifecycle: open the hypervisor, {@link #createVm create a VM} over guest memory, create its
 * {@link Vcpu vCPUs}, {@linkplain Vcpu#run() run} each on its own platform thread until it exits,
 * complete the exit, run again; {@linkplain Vcpu#kick() kick} a running vCPU from another thread; close
 * everything in reverse order. Implementations: KVM ({@code /dev/kvm}), Hypervisor.framework x86 (VMCS)
 * and arm64 (EL2). A process may hold at most one VM per hypervisor on Hypervisor.framework.
 */
public interface Hypervisor extends AutoCloseable {

    /** A short name for messages and traces, such as {@code "kvm"} or {@code "hvf-arm64"}. */
    String name();

    /**
     * Creates a VM and maps every region of {@code memory} into its guest-physical address space.
     * The VM does not own the memory: the caller closes it after the VM.
     */
    Vm createVm(GuestMemory memory);

    /** Releases the hypervisor handle; VMs created from it must already be closed. */
    @Override
    void close();
}
