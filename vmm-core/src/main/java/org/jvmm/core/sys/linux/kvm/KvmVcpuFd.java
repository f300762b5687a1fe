package org.jvmm.core.sys.linux.kvm;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.sys.linux.LinuxLibc;

/**
 * A KVM vCPU descriptor with its mmap'd {@code kvm_run}, owned by the thread that created it.
 *
 * <p>The kick ({@link #kick()}, any thread): set {@code immediate_exit}, then, if the vCPU is inside
 * (or about to enter) {@code KVM_RUN}, send it the {@link KickSignal}. Both sides use the store-then-load
 * pattern on volatile variables — the runner stores {@code inRun} then (in the kernel) loads
 * {@code immediate_exit}; the kicker stores {@code immediate_exit} then loads {@code inRun} — so at least
 * one of them sees the other: either the kernel sees {@code immediate_exit} on entry and returns EINTR at
 * once, or the kicker sees {@code inRun} and the signal interrupts the ioctl. Signalling only while in
 * {@code KVM_RUN} keeps the kick from interrupting a device model's own system calls with EINTR.
 */
public final class KvmVcpuFd implements AutoCloseable {

    private final int fd;
    private final KvmRun run;
    private final long thread;
    private volatile boolean inRun;
    private final AtomicBoolean closed = new AtomicBoolean();

    KvmVcpuFd(int fd, int mmapSize) {
        this.fd = fd;
        this.run = new KvmRun(LinuxLibc.mmap(mmapSize, LinuxLibc.PROT_READ | LinuxLibc.PROT_WRITE,
                LinuxLibc.MAP_SHARED, fd, 0));
        this.thread = LinuxLibc.pthreadSelf();
        KickSignal.number(); // install the handler before anyone can kick
    }

    /** The descriptor, for arch bindings' vCPU ioctls (registers, CPUID, MSRs). */
    public int fd() {
        return fd;
    }

    /** The shared {@code kvm_run} structure. */
    public KvmRun kvmRun() {
        return run;
    }

    /**
     * {@code KVM_RUN}: runs the guest until the next exit. Returns true when {@link KvmRun#exitReason()}
     * holds an exit, false when the run was interrupted (EINTR: a kick or another signal); an interrupted
     * run has cleared the kick request, so a later kick is never lost.
     */
    public boolean run() {
        inRun = true;
        int r;
        do {
            r = LinuxLibc.ioctlOrErrno(fd, KvmIoctl.KVM_RUN, 0);
            // EAGAIN: an application processor still waiting for INIT/SIPI (KVM_MP_STATE_UNINITIALIZED)
            // was woken without becoming runnable; KVM expects the VMM to enter again (QEMU does). A
            // kick that arrived meanwhile is still pending in immediate_exit, so the retry returns EINTR.
        } while (-r == Errno.EAGAIN);
        inRun = false;
        if (r >= 0) return true;
        if (-r == Errno.EINTR) {
            run.clearImmediateExit();
            return false;
        }
        throw LinuxLibc.ioctlFailure(fd, "KVM_RUN", -r);
    }

    /** Makes a running or about-to-run {@link #run()} return false promptly. Any thread, any number of times. */
    public void kick() {
        // Under the lock so that close() cannot unmap kvm_run, or the thread end, between check and use:
        // writing to an unmapped kvm_run or signalling a finished thread would crash the process.
        synchronized (closed) {
            if (closed.get()) return;
            run.requestImmediateExit();
            if (inRun) KickSignal.send(thread);
        }
    }

    /** Unmaps {@code kvm_run} and closes the descriptor; on the vCPU's thread, before it ends. */
    @Override
    public void close() {
        synchronized (closed) {
            if (!closed.compareAndSet(false, true)) return;
        }
        LinuxLibc.munmap(run.segment());
        LinuxLibc.close(fd);
    }
}
