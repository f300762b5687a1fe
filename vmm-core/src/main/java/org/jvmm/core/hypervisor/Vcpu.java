package org.jvmm.core.hypervisor;

/**
 * One virtual CPU.
 *
 * <p>Threading: {@link #run()}, {@link #completeRead(long)} and the register accessors of the arch
 * sub-interfaces must be called on the thread that created the vCPU. {@link #kick()} is the one method
 * any thread may call.
 */
public interface Vcpu extends AutoCloseable {

    /** This vCPU's index in its VM, 0 for the boot CPU. */
    int id();

    /**
     * Runs guest code until the next exit and returns it. If the previous exit was a read
     * ({@link VcpuExit.IoIn}, {@link VcpuExit.MmioRead}, {@link VcpuExit.SysRegRead}, {@link VcpuExit.Hypercall}), it must have been
     * completed with {@link #completeRead(long)} first; an uncompleted read returns all-ones to the guest.
     */
    VcpuExit run();

    /**
     * Completes the read (or hypercall) of the last exit with {@code value}, truncated to the access
     * size. The backend delivers it to the guest on the next {@link #run()}.
     */
    void completeRead(long value);

    /**
     * Makes a running or about-to-run {@link #run()} return {@link VcpuExit.Canceled} promptly
     * (within milliseconds). Safe to call from any thread, any number of times.
     */
    void kick();

    /** A human-readable dump of the registers, for error reports; on the vCPU's thread only. */
    String dumpRegisters();

    /** Releases the vCPU. */
    @Override
    void close();
}
