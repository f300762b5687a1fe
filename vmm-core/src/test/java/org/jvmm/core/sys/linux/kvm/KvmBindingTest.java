package org.jvmm.core.sys.linux.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.memory.MemoryRange;
import org.jvmm.core.memory.MemoryRegion;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.jvmm.core.memory.SharedGuestMemory;
import org.jvmm.core.sys.linux.LinuxLibc;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The arch-neutral KVM binding against the real /dev/kvm. */
@Timeout(30)
class KvmBindingTest {

    @BeforeAll
    static void needKvm() {
        boolean present = Files.exists(Path.of(KvmSystem.DEVICE));
        if (!present && Boolean.getBoolean("jvmm.requireAll")) {
            throw new AssertionError(KvmSystem.DEVICE + " is missing and jvmm.requireAll is set");
        }
        assumeTrue(present, "no " + KvmSystem.DEVICE);
    }

    @Test
    void ioctlNumbersMatchTheKernelHeader() {
        // Values printed by a C program including <linux/kvm.h> on x86-64 (the generic _IOC layout).
        assertEquals(0xae00L, KvmIoctl.KVM_GET_API_VERSION);
        assertEquals(0x4020ae46L, KvmIoctl.KVM_SET_USER_MEMORY_REGION);
        assertEquals(0x4008ae61L, KvmIoctl.KVM_IRQ_LINE);
        assertEquals(0x4020ae76L, KvmIoctl.KVM_IRQFD);
        assertEquals(0x4040ae79L, KvmIoctl.KVM_IOEVENTFD);
        assertEquals(0x4068aea3L, KvmIoctl.KVM_ENABLE_CAP);
        assertEquals(0xae80L, KvmIoctl.KVM_RUN);
    }

    @Test
    void openCreateMapAndRun() {
        try (KvmSystem kvm = KvmSystem.open();
             GuestMemory mem = SharedGuestMemory.allocate(List.of(new MemoryRange(0, 0x10000)))) {
            assertTrue(kvm.checkExtension(KvmIoctl.KVM_CAP_USER_MEMORY) > 0);
            assertTrue(kvm.checkExtension(KvmIoctl.KVM_CAP_IMMEDIATE_EXIT) > 0);
            assertTrue(kvm.vcpuMmapSize() >= 4096);
            try (KvmVmFd vm = kvm.createVm(0)) {
                MemoryRegion r = mem.regions().getFirst();
                vm.setUserMemoryRegion(0, 0, r.guestAddress(), r.segment());
                try (KvmVcpuFd vcpu = vm.createVcpu(0)) {
                    // A kick before the run: KVM_RUN returns EINTR at once and the request is cleared.
                    vcpu.kick();
                    assertTrue(vcpu.kvmRun().immediateExitRequested());
                    assertFalse(vcpu.run());
                    assertFalse(vcpu.kvmRun().immediateExitRequested());
                }
            }
        }
    }

    @Test
    void aClosedVmRefusesLateCallsInsteadOfUsingAStaleDescriptor() {
        try (KvmSystem kvm = KvmSystem.open()) {
            KvmVmFd vm = kvm.createVm(0);
            vm.close();
            org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> vm.irqLine(4, true));
            org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> vm.irqfd(0, 4, true));
            vm.close(); // idempotent
        }
    }

    @Test
    void kickSignalHasOurHandlerAndNoRestart() {
        int sig = KickSignal.number();
        assertTrue(sig >= LinuxLibc.sigrtmin());
        long handler = LinuxLibc.currentSignalHandler(sig);
        assertTrue(handler > 1, "a real handler, not SIG_DFL or SIG_IGN");
        assertEquals(sig, KickSignal.number(), "installed once");
    }

    @Test
    void openFailuresSayWhatToDo() {
        ConfigurationException missing = KvmSystem.openFailure(new SysException("open /dev/kvm", Errno.ENOENT, "ENOENT", "x"));
        assertTrue(missing.getMessage().contains("modprobe kvm_intel or kvm_amd"), missing.getMessage());
        ConfigurationException denied = KvmSystem.openFailure(new SysException("open /dev/kvm", Errno.EACCES, "EACCES", "x"));
        assertTrue(denied.getMessage().contains("kvm group"), denied.getMessage());
    }
}
