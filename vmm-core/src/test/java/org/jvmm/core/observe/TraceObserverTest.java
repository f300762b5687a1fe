package org.jvmm.core.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.jvmm.core.hypervisor.VcpuExit;
import org.junit.jupiter.api.Test;

class TraceObserverTest {

    @Test
    void portWriteLine() {
        assertEquals("vcpu0 io-out  port=0x3f8 size=1 value=0x41 -> uart@0x3f8",
                TraceObserver.format(0, new VcpuExit.IoOut(0x3f8, 1, 0x41), "uart@0x3f8", 0x41));
    }

    @Test
    void mmioReadLineShowsTheValueGivenToTheGuest() {
        assertEquals("vcpu1 mmio-read addr=0xd0000050 size=4 value=0x0 -> virtio-blk@0xd0000000",
                TraceObserver.format(1, new VcpuExit.MmioRead(0xd0000050L, 4), "virtio-blk@0xd0000000", 0));
    }

    @Test
    void haltLineHasNoFields() {
        assertEquals("vcpu0 halt -> platform", TraceObserver.format(0, new VcpuExit.Halt(), "platform", 0));
    }

    @Test
    void systemRegisterAccessesNameTheRegisterAndAWritesValue() {
        assertEquals("vcpu0 sysreg-read reg=PMCR_EL0 -> platform",
                TraceObserver.format(0, new VcpuExit.SysRegRead(0xdce0, "PMCR_EL0"), "platform", 0));
        assertEquals("vcpu2 sysreg-write reg=OSLAR_EL1 value=0x1 -> platform",
                TraceObserver.format(2, new VcpuExit.SysRegWrite(0x8084, "OSLAR_EL1", 1), "platform", 0));
    }

    @Test
    void hypercallAndSystemEventLines() {
        assertEquals("vcpu3 hypercall conduit=hvc function=0x84000008 args=0x1,0x2,0x3,0x4 -> platform",
                TraceObserver.format(3, new VcpuExit.Hypercall(VcpuExit.Hypercall.Conduit.HVC, 0x84000008L, 1, 2, 3, 4),
                        "platform", 0));
        assertEquals("vcpu0 system-event kind=power-off -> platform",
                TraceObserver.format(0, new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.POWER_OFF), "platform", 0));
    }

    @Test
    void unclaimedWriteOfAllOnesIsUnsignedHex() {
        assertEquals("vcpu0 mmio-write addr=0xffffffffffffffff size=8 value=0xffffffffffffffff -> unclaimed",
                TraceObserver.format(0, new VcpuExit.MmioWrite(-1L, 8, -1L), "unclaimed", -1L));
    }

    @Test
    void observerPrintsOneLinePerExit() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TraceObserver trace = new TraceObserver(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        trace.onExit(0, new VcpuExit.IoIn(0x64, 1), "i8042", 0x1c, 1234);
        trace.onExit(0, new VcpuExit.Canceled(), "kick", 0, 10);
        assertEquals("vcpu0 io-in   port=0x64 size=1 value=0x1c -> i8042" + System.lineSeparator()
                + "vcpu0 canceled -> kick" + System.lineSeparator(), bytes.toString(StandardCharsets.UTF_8));
    }

    /** Backend text (a shutdown reason, a device name) must never break the one-line-per-exit rule. */
    @Property
    void alwaysOneLine(@ForAll String reason, @ForAll String device, @ForAll int vcpu) {
        String line = TraceObserver.format(vcpu, new VcpuExit.Shutdown(reason), device, 0);
        assertFalse(line.contains("\n") || line.contains("\r"), line);
    }
}
