package org.jvmm.x86.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.x86.X86Layout;
import org.jvmm.x86.boot.BootRegisters;
import org.jvmm.x86.cpu.Segment;
import org.jvmm.x86.cpu.X86Registers;
import org.jvmm.x86.cpu.X86SpecialRegisters;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The backend on its own, without the run loop: register round trips, the kick, thread ownership. */
@Timeout(30)
class KvmX86VcpuTest {

    @BeforeAll
    static void needKvm() {
        Guests.requireKvm();
    }

    @Test
    void registersAndSpecialRegistersRoundTrip() {
        try (KvmX86Hypervisor hv = KvmX86Hypervisor.open(Guests.options(false));
             GuestMemory mem = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 2 << 20)));
             KvmX86Vm vm = hv.createVm(mem);
             KvmX86Vcpu vcpu = vm.createVcpu(0)) {
            vcpu.setCpuid(CpuidPolicy.forVcpu(vm.supportedCpuid(), 0, 1));
            X86Registers regs = new X86Registers(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x1234, 0x202);
            vcpu.setRegisters(regs);
            assertEquals(regs, vcpu.registers());

            X86SpecialRegisters boot = BootRegisters.special();
            vcpu.setSpecialRegisters(boot);
            X86SpecialRegisters back = vcpu.specialRegisters();
            assertEquals(boot.cr0(), back.cr0());
            assertEquals(boot.cr3(), back.cr3());
            assertEquals(boot.cr4(), back.cr4());
            assertEquals(boot.efer(), back.efer());
            assertEquals(boot.gdt(), back.gdt());
            Segment cs = back.cs();
            assertEquals(boot.cs().selector(), cs.selector());
            assertTrue(cs.l() && cs.present() && !cs.db());
            assertEquals(X86Layout.LAPIC, back.apicBase() & ~0xfffL);
            vcpu.resetFpu();
            vcpu.setMsrs(java.util.Map.of(0x174, 0x10L)); // IA32_SYSENTER_CS: always accepted
            assertTrue(vcpu.dumpRegisters().contains("rip=0000000000001234"), vcpu.dumpRegisters());
        }
    }

    @Test
    void kickGetsASpinningVcpuOutOfTheGuest() throws Exception {
        try (KvmX86Hypervisor hv = KvmX86Hypervisor.open(Guests.options(false));
             GuestMemory mem = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 1 << 20)));
             KvmX86Vm vm = hv.createVm(mem)) {
            mem.write(Guests.REAL_MODE_ENTRY, Guests.bytes("spin16"));
            AtomicReference<KvmX86Vcpu> shared = new AtomicReference<>();
            CountDownLatch spinning = new CountDownLatch(1);
            CountDownLatch kicked = new CountDownLatch(1);
            AtomicReference<Object> result = new AtomicReference<>();
            Thread t = Thread.ofPlatform().name("vcpu-test").start(() -> {
                try (KvmX86Vcpu vcpu = vm.createVcpu(0)) {
                    X86SpecialRegisters s = vcpu.specialRegisters();
                    Segment cs = new Segment(0, 0xffff, 0, 0xb, true, 0, false, true, false, false, false, false);
                    vcpu.setSpecialRegisters(new X86SpecialRegisters(cs, s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(),
                            s.ldt(), s.gdt(), s.idt(), s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase()));
                    vcpu.setRegisters(X86Registers.RESET.withRip(Guests.REAL_MODE_ENTRY));
                    shared.set(vcpu);
                    VcpuExit first = vcpu.run();
                    spinning.countDown();
                    VcpuExit second = vcpu.run(); // spins in the guest until kicked
                    long rip = vcpu.registers().rip();
                    kicked.countDown();
                    result.set(List.of(first, second, rip));
                } catch (Throwable e) {
                    result.set(e);
                    spinning.countDown();
                    kicked.countDown();
                }
            });
            assertTrue(spinning.await(30, TimeUnit.SECONDS));
            // Give the vCPU time to be inside KVM_RUN so the signal path is what ends the run (this only
            // makes that likely; a kick that lands before entry is caught by immediate_exit instead).
            Thread.sleep(200);
            while (!kicked.await(100, TimeUnit.MILLISECONDS)) {
                if (shared.get() != null) shared.get().kick();
            }
            t.join();
            if (result.get() instanceof Throwable e) throw new AssertionError(e);
            List<?> r = (List<?>) result.get();
            assertEquals(new VcpuExit.IoOut(0x70, 1, 1), r.get(0));
            assertEquals(new VcpuExit.Canceled(), r.get(1));
            assertEquals(Guests.REAL_MODE_ENTRY + 4, r.get(2), "stopped on the spin loop's jmp");
        }
    }

    @Test
    void aVcpuBelongsToItsThread() throws Exception {
        try (KvmX86Hypervisor hv = KvmX86Hypervisor.open(Guests.options(false));
             GuestMemory mem = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 1 << 20)));
             KvmX86Vm vm = hv.createVm(mem);
             KvmX86Vcpu vcpu = vm.createVcpu(0)) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    vcpu.run();
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            t.join();
            assertTrue(thrown.get() instanceof IllegalStateException, String.valueOf(thrown.get()));
            assertThrows(IllegalStateException.class, () -> vm.irqLine(4), "no irqchip, no lines");
        }
    }
}
