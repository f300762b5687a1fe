package org.jvmm.core.observe;

import org.jvmm.core.hypervisor.VcpuExit;

/**
 * The kind of a {@link VcpuExit}, with the short name traces, statistics and JFR events print for it.
 *
 * <p>One constant per record of the sealed exit vocabulary, so the observers can keep per-kind state
 * in arrays and a new exit record fails to compile here rather than going uncounted.
 */
public enum ExitReason {
    IO_IN("io-in"),
    IO_OUT("io-out"),
    MMIO_READ("mmio-read"),
    MMIO_WRITE("mmio-write"),
    SYSREG_READ("sysreg-read"),
    SYSREG_WRITE("sysreg-write"),
    HALT("halt"),
    HYPERCALL("hypercall"),
    SYSTEM_EVENT("system-event"),
    SHUTDOWN("shutdown"),
    CANCELED("canceled"),
    FAILED_ENTRY("failed-entry"),
    INTERNAL_ERROR("internal-error"),
    UNHANDLED("unhandled");

    private final String label;

    ExitReason(String label) {
        this.label = label;
    }

    /** The short lower-case name, such as {@code "mmio-read"}. */
    public String label() {
        return label;
    }

    /** The kind of {@code exit}. */
    public static ExitReason of(VcpuExit exit) {
        return switch (exit) {
            case VcpuExit.IoIn e -> IO_IN;
            case VcpuExit.IoOut e -> IO_OUT;
            case VcpuExit.MmioRead e -> MMIO_READ;
            case VcpuExit.MmioWrite e -> MMIO_WRITE;
            case VcpuExit.SysRegRead e -> SYSREG_READ;
            case VcpuExit.SysRegWrite e -> SYSREG_WRITE;
            case VcpuExit.Halt e -> HALT;
            case VcpuExit.Hypercall e -> HYPERCALL;
            case VcpuExit.SystemEvent e -> SYSTEM_EVENT;
            case VcpuExit.Shutdown e -> SHUTDOWN;
            case VcpuExit.Canceled e -> CANCELED;
            case VcpuExit.FailedEntry e -> FAILED_ENTRY;
            case VcpuExit.InternalError e -> INTERNAL_ERROR;
            case VcpuExit.Unhandled e -> UNHANDLED;
        };
    }

    /**
     * The port or guest-physical address an I/O exit touched, or -1 for exits that touch none;
     * for the observers that print or record a location.
     */
    public static long location(VcpuExit exit) {
        return switch (exit) {
            case VcpuExit.IoIn(int port, int size) -> port;
            case VcpuExit.IoOut(int port, int size, long value) -> port;
            case VcpuExit.MmioRead(long address, int size) -> address;
            case VcpuExit.MmioWrite(long address, int size, long value) -> address;
            default -> -1;
        };
    }

    /** The access size in bytes of an I/O exit, or 0 for the others. */
    public static int size(VcpuExit exit) {
        return switch (exit) {
            case VcpuExit.IoIn(int port, int size) -> size;
            case VcpuExit.IoOut(int port, int size, long value) -> size;
            case VcpuExit.MmioRead(long address, int size) -> size;
            case VcpuExit.MmioWrite(long address, int size, long value) -> size;
            default -> 0;
        };
    }
}
