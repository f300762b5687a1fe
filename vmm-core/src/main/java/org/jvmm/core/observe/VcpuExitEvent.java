package org.jvmm.core.observe;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.MemoryAddress;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * One VM exit, as a JDK Flight Recorder event ({@code org.jvmm.VcpuExit}) that JDK Mission Control shows
 * beside the JVM's own events (GC pauses, safepoints), so an exit-latency spike can be laid next to its
 * cause. {@link JfrExitObserver} fills and commits it; it costs nearly nothing while no recording has
 * the event enabled.
 *
 * <p>No stack trace: it would always be the run loop's.
 */
@Name(VcpuExitEvent.NAME)
@Label("vCPU Exit")
@Category({"jvmm", "VM Exits"})
@Description("A virtual CPU left guest mode and the VMM handled the exit")
@StackTrace(false)
public final class VcpuExitEvent extends Event {

    /** The event's name in recordings. */
    public static final String NAME = "org.jvmm.VcpuExit";

    @Label("vCPU")
    @Description("Index of the virtual CPU")
    public int vcpu;

    @Label("Reason")
    @Description("Why the vCPU exited: io-in, io-out, mmio-read, mmio-write, halt, hypercall, ...")
    public String reason;

    @Label("Address")
    @Description("The I/O port or guest-physical MMIO address; -1 for exits without one")
    @MemoryAddress // shown in hexadecimal, as addresses and ports are read
    public long address;

    @Label("Size")
    @Description("Access size in bytes; 0 for exits without one")
    public int size;

    @Label("Value")
    @Description("The value read by or written by the guest")
    public long value;

    @Label("Device")
    @Description("The device that answered, 'unclaimed', or the handler of a non-I/O exit")
    public String device;

    @Label("Handling Time")
    @Description("From the vCPU's run call returning to the exit being answered")
    @Timespan(Timespan.NANOSECONDS)
    public long handlingTime;
}
