package org.jvmm.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.platform.ExitAction;
import org.jvmm.core.platform.MachineConfig;
import org.jvmm.core.platform.Platforms;
import org.jvmm.x86.devices.SystemControl;
import org.jvmm.x86.devices.Uart8250;

/** The platform's policies that need no hypervisor: discovery, memory sizes, command line, exit decisions. */
class X86PlatformTest {

    @Test
    void theServiceLoaderFindsTheX86Platform() {
        assertInstanceOf(X86Platform.class, Platforms.forArch("x86_64"));
    }

    @Test
    void consoleAndPciOffAreAppendedOnlyWhenTheUserNamedNone() {
        assertEquals("console=ttyS0 pci=off", X86Platform.commandLine(""));
        assertEquals("quiet console=ttyS0 pci=off", X86Platform.commandLine("quiet"));
        assertEquals("console=hvc0 quiet pci=off", X86Platform.commandLine("console=hvc0 quiet"));
        assertEquals("quiet console=tty0 pci=off", X86Platform.commandLine("quiet console=tty0"));
        assertEquals("netconsole=x console=ttyS0 pci=off", X86Platform.commandLine("netconsole=x"), "netconsole= is not console=");
        assertEquals("pci=nomsi console=ttyS0", X86Platform.commandLine("pci=nomsi"), "the user's own pci= wins");
        assertEquals("nopci=1 console=ttyS0 pci=off", X86Platform.commandLine("nopci=1"), "nopci= is not pci=");
    }

    static MachineConfig config(long memory) {
        return new MachineConfig(memory, 1, Path.of("k"), Optional.empty(), "", InputStream.nullInputStream(),
                OutputStream.nullOutputStream());
    }

    @Test
    void memoryOutsideTheSupportedRangeOrNotInTwoMibStepsIsAConfigurationError() {
        X86Platform p = new X86Platform();
        for (long bad : new long[] {32L << 20, (64L << 20) + 4096, 2L << 40}) {
            ConfigurationException e = assertThrows(ConfigurationException.class, () -> p.allocateMemory(config(bad)));
            assertTrue(e.getMessage().matches("[^.]*[.:][^.]*\\.$") || e.getMessage().endsWith("."), e.getMessage());
        }
    }

    /** A vCPU that only answers id and dumpRegisters, for exit decisions. */
    record FakeVcpu(int id) implements Vcpu {
        @Override public VcpuExit run() { throw new UnsupportedOperationException(); }
        @Override public void completeRead(long value) { }
        @Override public void kick() { }
        @Override public String dumpRegisters() { return "RIP=0x1000"; }
        @Override public void close() { }
    }

    @Test
    void exitsBecomeTheDocumentedRunLoopDecisions() {
        SystemControl control = new SystemControl();
        X86Assembly a = new X86Assembly(null, 1, null, control, new Uart8250("com1", level -> { }, OutputStream.nullOutputStream()));
        Vcpu cpu = new FakeVcpu(0);
        assertEquals(ExitAction.STOP_VCPU, a.handle(cpu, new VcpuExit.Halt()));
        assertEquals(0, stop(a.handle(cpu, new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.POWER_OFF))).exitCode());
        assertEquals(0, stop(a.handle(cpu, new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.RESET))).exitCode());
        assertEquals(1, stop(a.handle(cpu, new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.CRASH))).exitCode());
        ExitAction.StopMachine triple = stop(a.handle(cpu, new VcpuExit.Shutdown("triple fault")));
        assertEquals(1, triple.exitCode());
        assertTrue(triple.reason().contains("RIP=0x1000"), triple.reason());
        assertTrue(stop(a.handle(cpu, new VcpuExit.FailedEntry(7, "regs"))).reason().contains("regs"));
        assertTrue(stop(a.handle(cpu, new VcpuExit.InternalError(1, "regs"))).reason().contains("regs"));
        assertEquals(1, stop(a.handle(cpu, new VcpuExit.Unhandled(99, "?"))).exitCode());
        assertEquals(null, a.requestedStop());
        control.requestReset("test");
        assertEquals(0, a.requestedStop().exitCode());
    }

    private static ExitAction.StopMachine stop(ExitAction a) {
        return assertInstanceOf(ExitAction.StopMachine.class, a);
    }
}
