package org.jvmm.core.observe;

import java.io.PrintStream;
import org.jvmm.core.hypervisor.VcpuExit;

/**
 * Prints one decoded line per exit: which vCPU, why it exited, what it touched, and who answered.
 *
 * <pre>
 * vcpu0 io-out  port=0x3f8 size=1 value=0x41 -> uart@0x3f8
 * vcpu1 mmio-read addr=0xd0000050 size=4 value=0x0 -> virtio-blk@0xd0000000
 * vcpu0 sysreg-read reg=PMCR_EL0 -> platform
 * vcpu0 halt -> platform
 * </pre>
 *
 * <p>For reads the value is what the guest was given; for writes what it wrote. Each line is built
 * first and printed with one call, so lines from concurrent vCPUs never interleave (PrintStream
 * serialises {@code println}). Backend-supplied text (shutdown reasons, register dumps) is kept to
 * one line: a trace is read with {@code grep}.
 */
public final class TraceObserver implements ExitObserver {

    private final PrintStream out;

    /** Traces to {@code out} (the command uses standard error, so the guest console stays clean). */
    public TraceObserver(PrintStream out) {
        this.out = out;
    }

    @Override
    public void onExit(int vcpu, VcpuExit exit, String device, long value, long handlingNanos) {
        out.println(format(vcpu, exit, device, value));
    }

    /** The trace line for one exit, without a line terminator. */
    public static String format(int vcpu, VcpuExit exit, String device, long value) {
        StringBuilder line = new StringBuilder(96).append("vcpu").append(vcpu).append(' ');
        String reason = ExitReason.of(exit).label();
        String fields = fields(exit, value);
        line.append(reason);
        if (!fields.isEmpty()) {
            // Pads short reasons so that the port/address column of the common exits lines up.
            for (int i = reason.length(); i < 7; i++) line.append(' ');
            line.append(' ').append(fields);
        }
        return line.append(" -> ").append(device == null ? "?" : oneLine(device)).toString();
    }

    private static String fields(VcpuExit exit, long value) {
        return switch (exit) {
            case VcpuExit.IoIn(int port, int size) -> "port=" + hex(port) + " size=" + size + " value=" + hex(value);
            case VcpuExit.IoOut(int port, int size, long v) -> "port=" + hex(port) + " size=" + size + " value=" + hex(value);
            case VcpuExit.MmioRead(long address, int size) -> "addr=" + hex(address) + " size=" + size + " value=" + hex(value);
            case VcpuExit.MmioWrite(long address, int size, long v) -> "addr=" + hex(address) + " size=" + size + " value=" + hex(value);
            // The platform answers a system register read itself, so the loop does not know the value given.
            case VcpuExit.SysRegRead(long register, String name) -> "reg=" + oneLine(name);
            case VcpuExit.SysRegWrite(long register, String name, long v) -> "reg=" + oneLine(name) + " value=" + hex(v);
            case VcpuExit.Hypercall(VcpuExit.Hypercall.Conduit conduit, long function, long a0, long a1, long a2, long a3) ->
                    "conduit=" + conduit.name().toLowerCase() + " function=" + hex(function)
                    + " args=" + hex(a0) + "," + hex(a1) + "," + hex(a2) + "," + hex(a3);
            case VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind kind) -> "kind=" + kind.name().toLowerCase().replace('_', '-');
            case VcpuExit.Shutdown(String reason) -> "reason=" + oneLine(reason);
            case VcpuExit.FailedEntry(long hardwareReason, String registers) -> "hardware-reason=" + hex(hardwareReason);
            case VcpuExit.InternalError(long suberror, String registers) -> "suberror=" + suberror;
            case VcpuExit.Unhandled(long rawReason, String description) -> "raw=" + rawReason + " " + oneLine(description);
            case VcpuExit.Halt h -> "";
            case VcpuExit.Canceled c -> "";
        };
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static String oneLine(String s) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) ? ' ' : c);
        }
        return b.toString();
    }
}
