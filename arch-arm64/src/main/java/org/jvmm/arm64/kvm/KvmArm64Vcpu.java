package org.jvmm.arm64.kvm;

import org.jvmm.arm64.Arm64CpuState;
import org.jvmm.arm64.Arm64Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.sys.linux.kvm.KvmVcpuFd;

/**
 * An arm64 vCPU on KVM: runs the guest with {@code KVM_RUN}, lets {@link Arm64ExitDecoder} translate the exit,
 * and sets registers with {@code KVM_SET_ONE_REG}. Owned by the thread that created it.
 *
 * <p>PSCI is KVM's: the vCPU is initialised with {@code KVM_ARM_VCPU_PSCI_0_2}, so CPU_ON, CPU_OFF,
 * AFFINITY_INFO and friends never leave the kernel, and SYSTEM_OFF / SYSTEM_RESET arrive as system events.
 * Whether the vCPU starts powered off is fixed by that initialisation, hence it happens in the first of
 * {@link #setEntryState} (boot CPU) or {@link #powerOff()} (secondaries, which then sleep in the kernel until a
 * CPU_ON names them). WFI is handled in the kernel too (the vGIC knows when to wake it), so {@link #run()}
 * never returns {@link VcpuExit.Halt}.
 */
final class KvmArm64Vcpu implements Arm64Vcpu {

    private static final VcpuExit CANCELED = new VcpuExit.Canceled();

    private final KvmArm64Vm vm;
    private final KvmVcpuFd vcpu;
    private final Arm64ExitDecoder decoder;
    private final int id;
    private final int target;
    private final Thread owner = Thread.currentThread();
    private boolean initialized;

    KvmArm64Vcpu(KvmArm64Vm vm, KvmVcpuFd vcpu, int id, int target) {
        this.vm = vm;
        this.vcpu = vcpu;
        this.decoder = new Arm64ExitDecoder(vcpu.kvmRun());
        this.id = id;
        this.target = target;
    }

    @Override
    public int id() {
        return id;
    }

    private void init(boolean poweredOff) {
        int features = 1 << KvmArm64Binding.KVM_ARM_VCPU_PSCI_0_2;
        if (poweredOff) features |= 1 << KvmArm64Binding.KVM_ARM_VCPU_POWER_OFF;
        KvmArm64Binding.vcpuInit(vcpu.fd(), target, features);
        initialized = true;
    }

    @Override
    public void setEntryState(Arm64CpuState s) {
        checkThread();
        if (!initialized) init(false);
        int fd = vcpu.fd();
        KvmArm64Binding.setOneReg(fd, KvmArm64Binding.coreX(0), s.x0());
        KvmArm64Binding.setOneReg(fd, KvmArm64Binding.coreX(1), s.x1());
        KvmArm64Binding.setOneReg(fd, KvmArm64Binding.coreX(2), s.x2());
        KvmArm64Binding.setOneReg(fd, KvmArm64Binding.coreX(3), s.x3());
        KvmArm64Binding.setOneReg(fd, KvmArm64Binding.corePstate(), s.pstate());
        KvmArm64Binding.setOneReg(fd, KvmArm64Binding.corePc(), s.pc());
        // KVM derives MPIDR_EL1 from the vCPU id the way Arm64Layout.mpidr does; set it only if that ever differs.
        long mpidr = KvmArm64Binding.getOneReg(fd, KvmArm64Binding.MPIDR_EL1);
        if ((mpidr & 0xff_00ff_ffffL) != s.mpidr()) {
            KvmArm64Binding.setOneReg(fd, KvmArm64Binding.MPIDR_EL1, (mpidr & ~0xff_00ff_ffffL) | s.mpidr());
        }
    }

    @Override
    public void powerOff() {
        checkThread();
        if (!initialized) init(true);
        else KvmArm64Binding.setMpState(vcpu.fd(), KvmArm64Binding.KVM_MP_STATE_STOPPED);
    }

    @Override
    public VcpuExit run() {
        checkThread();
        if (!initialized) throw new IllegalStateException("vCPU " + id + " runs before setEntryState or powerOff");
        vm.initGicOnce();
        decoder.startRun();
        if (!vcpu.run()) return CANCELED;
        return decoder.decode(this::dumpRegisters);
    }

    @Override
    public void completeRead(long value) {
        decoder.completeRead(value);
    }

    @Override
    public void kick() {
        vcpu.kick();
    }

    @Override
    public long register(int n) {
        checkThread();
        return KvmArm64Binding.getOneReg(vcpu.fd(), KvmArm64Binding.coreX(n));
    }

    @Override
    public long pc() {
        checkThread();
        return KvmArm64Binding.getOneReg(vcpu.fd(), KvmArm64Binding.corePc());
    }

    /** Returns at once: with the in-kernel vGIC, KVM handles WFI itself and never reports it (WFI allows spurious wake-ups). */
    @Override
    public void awaitInterrupt() {}

    @Override
    public String dumpRegisters() {
        try {
            int fd = vcpu.fd();
            StringBuilder b = new StringBuilder("vCPU %d: pc=%016x pstate=%08x sp=%016x".formatted(id,
                    KvmArm64Binding.getOneReg(fd, KvmArm64Binding.corePc()),
                    KvmArm64Binding.getOneReg(fd, KvmArm64Binding.corePstate()),
                    KvmArm64Binding.getOneReg(fd, KvmArm64Binding.coreSp())));
            for (int n = 0; n <= 30; n++) {
                b.append(n % 4 == 0 ? "\n  " : " ").append("x%-2d=%016x".formatted(n, KvmArm64Binding.getOneReg(fd, KvmArm64Binding.coreX(n))));
            }
            return b.toString();
        } catch (RuntimeException e) {
            return "vCPU " + id + ": registers unavailable (" + e.getMessage() + ")";
        }
    }

    private void checkThread() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("vCPU " + id + " used from " + Thread.currentThread().getName()
                    + " but it belongs to " + owner.getName());
        }
    }

    @Override
    public void close() {
        vcpu.close();
    }
}
