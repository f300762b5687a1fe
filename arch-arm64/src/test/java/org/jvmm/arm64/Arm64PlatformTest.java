package org.jvmm.arm64;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.jvmm.arm64.psci.Psci;
import org.jvmm.arm64.psci.PsciAction;
import org.jvmm.core.ConfigurationException;
import org.jvmm.core.bus.Bus;
import org.jvmm.core.hypervisor.IoEventAddress;
import org.jvmm.core.hypervisor.Vcpu;
import org.jvmm.core.hypervisor.VcpuExit;
import org.jvmm.core.hypervisor.Vm;
import org.jvmm.core.irq.IrqLine;
import org.jvmm.core.memory.GuestMemory;
import org.jvmm.core.platform.DeviceDescription;
import org.jvmm.core.platform.ExitAction;
import org.jvmm.core.platform.MachineConfig;
import org.jvmm.core.platform.Platforms;
import org.jvmm.core.sys.EventNotifier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The arm64 platform's placement of kernel, initrd and DTB, its refusal on x86 hosts, and PSCI dispatch. */
class Arm64PlatformTest {

    private static final long MiB = 1L << 20;
    @TempDir Path dir;

    /** A minimal arm64 Image: the 64-byte header (booting.rst) with text_offset and image_size, then filler. */
    private static byte[] image(long textOffset, long imageSize, int length) {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x14000010); // code0: b +0x40
        b.putLong(8, textOffset);
        b.putLong(16, imageSize);
        b.putLong(24, 0b1010);   // flags: 4K pages, little-endian
        b.put(0x38, (byte) 'A').put(0x39, (byte) 'R').put(0x3a, (byte) 'M').put(0x3b, (byte) 0x64);
        for (int i = 64; i < length; i++) b.put(i, (byte) (i * 7));
        return b.array();
    }

    private MachineConfig config(long mem, int cpus, Path kernel, Path initrd) {
        return new MachineConfig(mem, cpus, kernel, Optional.ofNullable(initrd), "console=ttyAMA0",
                new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream());
    }

    /** A VM that only holds memory: enough for assemble, which writes guest RAM and nothing else. */
    private record MemoryOnlyVm(GuestMemory memory) implements Vm {
        public Vcpu createVcpu(int id) { throw new UnsupportedOperationException(); }
        public IrqLine irqLine(int gsi) { return asserted -> { }; }
        public boolean supportsIoEvents() { return false; }
        public void registerIoEvent(EventNotifier n, IoEventAddress a) { throw new UnsupportedOperationException(); }
        public void unregisterIoEvent(EventNotifier n, IoEventAddress a) { throw new UnsupportedOperationException(); }
        public void registerIrqNotifier(EventNotifier n, int gsi) { throw new UnsupportedOperationException(); }
        public void close() {}
    }

    /** Records what the assembly completes a hypercall with. */
    private static class RecordingVcpu implements Vcpu {
        final int id;
        Long completed;
        RecordingVcpu(int id) { this.id = id; }
        public int id() { return id; }
        public VcpuExit run() { throw new UnsupportedOperationException(); }
        public void completeRead(long value) { completed = value; }
        public void kick() {}
        public String dumpRegisters() { return ""; }
        public void close() {}
    }

    /** Records what the assembly sets, like an arm64 backend's vCPU would take it. */
    private static final class RecordingArm64Vcpu extends RecordingVcpu implements Arm64Vcpu {
        Arm64CpuState entry;
        boolean poweredOff;
        RecordingArm64Vcpu(int id) { super(id); }
        public void setEntryState(Arm64CpuState state) { entry = state; poweredOff = false; }
        public void powerOff() { poweredOff = true; }
        public long register(int n) { return 0; }
        public long pc() { return 0; }
        public void awaitInterrupt() {}
    }

    @Test
    void isFoundByItsArchName() {
        assertInstanceOf(Arm64Platform.class, Platforms.forArch("arm64"));
    }

    @Test
    void refusesToOpenAHypervisorOnX86() {
        Assumptions.assumeTrue(Platforms.hostArch().equals("x86_64"), "this checks the x86_64 host message");
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> new Arm64Platform().openHypervisor());
        assertEquals("arm64 guests need an arm64 host with KVM or a Mac with Apple silicon; this host is x86_64.", e.getMessage());
    }

    @Test
    void rejectsMemorySizesThatCannotWork() {
        Arm64Platform p = new Arm64Platform();
        Path k = dir.resolve("Image");
        assertThrows(ConfigurationException.class, () -> p.allocateMemory(config(16 * MiB, 1, k, null)));
        assertThrows(ConfigurationException.class, () -> p.allocateMemory(config(64 * MiB + 4096, 1, k, null)));
        assertThrows(ConfigurationException.class, () -> p.allocateMemory(config(64L << 30, 1, k, null)));
        assertThrows(ConfigurationException.class, () -> p.deviceTree(config(64 * MiB, 124, k, null), List.of()));
    }

    @Test
    void assemblePlacesKernelInitrdAndDtb() throws Exception {
        byte[] kernel = image(0, 4 * MiB, 300_000);
        Path kernelFile = Files.write(dir.resolve("Image"), kernel);
        byte[] initrd = new byte[0x12345];
        Arrays.fill(initrd, (byte) 0x5a);
        Path initrdFile = Files.write(dir.resolve("initrd"), initrd);
        Arm64Platform p = new Arm64Platform();
        MachineConfig c = config(512 * MiB, 2, kernelFile, initrdFile);
        try (GuestMemory mem = p.allocateMemory(c)) {
            Bus mmio = new Bus("mmio");
            Arm64Assembly a = (Arm64Assembly) p.assemble(new MemoryOnlyVm(mem), c, mmio, new Bus("pio"),
                    List.of(new DeviceDescription("virtio-mmio", 0x0a003e00L, 0x200, 47)));
            // Kernel at the start of RAM (2 MiB-aligned base + text_offset 0).
            assertEquals(0x4000_0000L, a.plan().kernelAddress());
            assertEquals(0x4040_0000L, a.plan().kernelEnd());
            assertArrayEquals(kernel, mem.readBytes(0x4000_0000L, kernel.length));
            // FDT in the last 2 MiB of 512 MiB: 0x40000000 + 0x20000000 - 0x200000.
            assertEquals(0x5fe0_0000L, a.plan().fdtAddress());
            assertEquals(0xd00dfeedL, Integer.toUnsignedLong(Integer.reverseBytes((int) mem.read32(0x5fe0_0000L))));
            // Initrd right below, 64 KiB-aligned: (0x5fe00000 - 0x12345) rounded down = 0x5fde0000.
            assertEquals(0x5fde_0000L, a.plan().initrdAddress());
            assertArrayEquals(initrd, mem.readBytes(0x5fde_0000L, initrd.length));

            // Register access needs an arm64 backend's vCPU (Arm64Vcpu).
            assertThrows(IllegalArgumentException.class, () -> a.initVcpu(new RecordingVcpu(0)));
            // The PL011 answers on the MMIO bus at 0x09000000: PeriphID0 = 0x11 at +0xfe0.
            assertEquals(0x11, mmio.read(0x0900_0fe0L, 4));

            RecordingVcpu cpu0 = new RecordingVcpu(0);
            assertEquals(ExitAction.CONTINUE, a.handle(cpu0, new VcpuExit.Hypercall(VcpuExit.Hypercall.Conduit.HVC,
                    0x8400_0000L, 0, 0, 0, 0)));
            assertEquals(0x10000L, cpu0.completed, "PSCI_VERSION = 1.0");

            cpu0.completed = null;
            assertEquals(ExitAction.CONTINUE, a.handle(cpu0, new VcpuExit.Hypercall(VcpuExit.Hypercall.Conduit.HVC,
                    0xC400_0003L, 1, 0x4000_1000L, 42, 0)));
            assertEquals(0L, cpu0.completed, "CPU_ON succeeded");
            PsciAction.StartCpu start = a.awaitStart(1);
            assertEquals(new PsciAction.StartCpu(1, 1, 0x4000_1000L, 42), start);
            // booting.rst for vCPU 0; PSCI's entry and context ID for vCPU 1; both EL1h with DAIF masked (0x3c5).
            assertEquals(new Arm64CpuState(0x4000_0000L, 0x5fe0_0000L, 0, 0, 0, 0x3c5, 0), a.bootState());
            assertEquals(new Arm64CpuState(0x4000_1000L, 42, 0, 0, 0, 0x3c5, 1), Arm64CpuState.secondary(start));

            RecordingArm64Vcpu boot = new RecordingArm64Vcpu(0), second = new RecordingArm64Vcpu(1);
            a.initVcpu(boot);
            a.initVcpu(second);
            assertEquals(a.bootState(), boot.entry);
            assertTrue(second.poweredOff, "a secondary waits for CPU_ON powered off");
            // Its start was taken by awaitStart above, so its Halt finds none and it stays off (HvfConformanceTest
            // covers the start itself).
            assertEquals(ExitAction.CONTINUE, a.handle(second, new VcpuExit.Halt()));
            assertTrue(second.poweredOff);
            assertNull(second.entry);
            // CPU_OFF powers the caller off; its loop goes on so that a later CPU_ON can start it again.
            assertEquals(ExitAction.CONTINUE, a.handle(second,
                    new VcpuExit.Hypercall(VcpuExit.Hypercall.Conduit.HVC, 0x8400_0002L, 0, 0, 0, 0)));
            assertTrue(second.poweredOff);
            assertEquals(Psci.PowerState.OFF, a.psci().state(1));
            ExitAction off = a.handle(cpu0, new VcpuExit.Hypercall(VcpuExit.Hypercall.Conduit.SMC, 0x8400_0008L, 0, 0, 0, 0));
            assertEquals(0, ((ExitAction.StopMachine) off).exitCode());
        }
    }

    @Test
    void tooLittleMemoryForKernelAndInitrdIsAConfigurationError() throws Exception {
        Path kernelFile = Files.write(dir.resolve("Image"), image(0, 31 * MiB, 4096));
        Arm64Platform p = new Arm64Platform();
        MachineConfig c = config(32 * MiB, 1, kernelFile, null);
        try (GuestMemory mem = p.allocateMemory(c)) {
            ConfigurationException e = assertThrows(ConfigurationException.class,
                    () -> p.assemble(new MemoryOnlyVm(mem), c, new Bus("mmio"), new Bus("pio"), List.of()));
            assertTrue(e.getMessage().contains("give the guest at least"), e.getMessage());
        }
    }

    @Test
    void anX86KernelIsRefused() throws Exception {
        byte[] elf = new byte[4096];
        elf[0] = 0x7f; elf[1] = 'E'; elf[2] = 'L'; elf[3] = 'F';
        Path kernelFile = Files.write(dir.resolve("vmlinux"), elf);
        Arm64Platform p = new Arm64Platform();
        MachineConfig c = config(64 * MiB, 1, kernelFile, null);
        try (GuestMemory mem = p.allocateMemory(c)) {
            assertThrows(ConfigurationException.class,
                    () -> p.assemble(new MemoryOnlyVm(mem), c, new Bus("mmio"), new Bus("pio"), List.of()));
        }
    }

    @Test
    void dumpedDeviceTreeNamesTheInitrdWhereAssembleWouldPutIt() throws Exception {
        Path initrdFile = Files.write(dir.resolve("initrd"), new byte[0x12345]);
        byte[] dtb = new Arm64Platform().deviceTree(config(512 * MiB, 1, dir.resolve("Image"), initrdFile), List.of());
        String dts = org.jvmm.arm64.fdt.DtcAccess.decompileWithoutWarnings(dtb);
        assertTrue(dts.contains("linux,initrd-start = <0x00 0x5fde0000>;"), dts);
        assertTrue(dts.contains("linux,initrd-end = <0x00 0x5fdf2345>;"), dts);
    }

    @Test
    void aConsoleIsAddedWhenTheCommandLineNamesNone() {
        assertEquals("console=ttyAMA0", Arm64Platform.commandLine(""));
        assertEquals("quiet console=ttyAMA0", Arm64Platform.commandLine(" quiet "));
        assertEquals("console=hvc0 quiet", Arm64Platform.commandLine("console=hvc0 quiet"));
        assertEquals("earlycon=pl011,0x9000000 console=ttyAMA0", Arm64Platform.commandLine("earlycon=pl011,0x9000000"));
    }
}
