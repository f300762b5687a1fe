package org.jvmm.arm64.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.sys.linux.kvm.KvmRun;
import org.junit.jupiter.api.Test;

/**
 * {@link Arm64ExitDecoder} on hand-made {@code kvm_run} contents laid out as include/uapi/linux/kvm.h says:
 * exit_reason at 8, the exit union at 32; mmio { u64 phys_addr; u8 data[8]; u32 len; u8 is_write; };
 * system_event { u32 type; ... }; arm_nisv { u64 esr_iss; u64 fault_ipa; }.
 */
class Arm64ExitDecoderTest {

    private final Arena arena = Arena.ofAuto();
    private final MemorySegment page = arena.allocate(4096, 4096);
    private final Arm64ExitDecoder decoder = new Arm64ExitDecoder(new KvmRun(page));

    private void mmio(long address, int length, boolean write, long data) {
        page.set(ValueLayout.JAVA_INT, 8, 6);
        page.set(ValueLayout.JAVA_LONG, 32, address);
        page.set(ValueLayout.JAVA_LONG, 40, data);
        page.set(ValueLayout.JAVA_INT, 48, length);
        page.set(ValueLayout.JAVA_BYTE, 52, (byte) (write ? 1 : 0));
    }

    @Test
    void mmioWriteCarriesTheLowBytes() {
        mmio(0x0a00_0050L, 4, true, 0x1122_3344_5566_7788L);
        assertEquals(new VcpuExit.MmioWrite(0x0a00_0050L, 4, 0x5566_7788L), decoder.decode(() -> ""));
    }

    @Test
    void mmioReadIsCompletedIntoTheDataArea() {
        mmio(0x0900_0018L, 2, false, 0);
        decoder.startRun();
        assertEquals(new VcpuExit.MmioRead(0x0900_0018L, 2), decoder.decode(() -> ""));
        decoder.completeRead(0xabcd_1234L);
        assertEquals((short) 0x1234, page.get(ValueLayout.JAVA_SHORT, 40));
        assertEquals(0, page.get(ValueLayout.JAVA_SHORT, 42), "bytes past the access stay untouched (were zero)");
    }

    @Test
    void anUncompletedReadReturnsAllOnes() {
        mmio(0x0900_0000L, 4, false, 0);
        decoder.decode(() -> "");
        decoder.startRun();
        decoder.completeRead(0); // too late: the next run forgot the read
        assertEquals(-1, page.get(ValueLayout.JAVA_INT, 40));
    }

    @Test
    void systemEventsBecomePowerOffResetCrash() {
        page.set(ValueLayout.JAVA_INT, 8, 24);
        page.set(ValueLayout.JAVA_INT, 32, 1);
        assertEquals(new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.POWER_OFF), decoder.decode(() -> ""));
        page.set(ValueLayout.JAVA_INT, 32, 2);
        assertEquals(new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.RESET), decoder.decode(() -> ""));
        page.set(ValueLayout.JAVA_INT, 32, 3);
        assertEquals(new VcpuExit.SystemEvent(VcpuExit.SystemEvent.Kind.CRASH), decoder.decode(() -> ""));
        page.set(ValueLayout.JAVA_INT, 32, 99);
        assertInstanceOf(VcpuExit.Unhandled.class, decoder.decode(() -> ""));
    }

    @Test
    void nisvNamesTheAddress() {
        page.set(ValueLayout.JAVA_INT, 8, 28);
        page.set(ValueLayout.JAVA_LONG, 32, 0x93L);
        page.set(ValueLayout.JAVA_LONG, 40, 0x0a00_0070L);
        VcpuExit e = decoder.decode(() -> "REGS");
        VcpuExit.Unhandled u = assertInstanceOf(VcpuExit.Unhandled.class, e);
        assertEquals(28, u.rawReason());
        assertTrue(u.description().contains("0xa000070") && u.description().contains("REGS"), u.description());
    }

    @Test
    void interruptedRunIsCanceled() {
        page.set(ValueLayout.JAVA_INT, 8, 10);
        assertEquals(new VcpuExit.Canceled(), decoder.decode(() -> ""));
    }

    /** Whatever length the kernel (or a corrupted page) reports, decoding never reaches outside the mapping. */
    @Property
    void anyMmioLengthIsSafe(@ForAll int length, @ForAll boolean write, @ForAll long data, @ForAll long address) {
        mmio(address, length, write, data);
        VcpuExit e = decoder.decode(() -> "");
        boolean valid = length == 1 || length == 2 || length == 4 || length == 8;
        if (!valid) {
            assertInstanceOf(VcpuExit.Unhandled.class, e);
        } else if (write) {
            long mask = length == 8 ? -1L : (1L << (8 * length)) - 1;
            assertEquals(new VcpuExit.MmioWrite(address, length, data & mask), e);
        } else {
            assertEquals(new VcpuExit.MmioRead(address, length), e);
        }
        decoder.completeRead(data);
    }

    @Property
    void anyExitReasonDecodes(@ForAll @IntRange(min = 0, max = 200) int reason) {
        page.set(ValueLayout.JAVA_INT, 8, reason);
        page.set(ValueLayout.JAVA_INT, 48, 4);
        assertTrue(decoder.decode(() -> "") != null);
    }
}
