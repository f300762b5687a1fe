package org.jvmm.rig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real arm64 Linux on real arm64 KVM through jvmm's KVM arm64 backend: the arm64 nested rig
 * ({@code jvmm/src/test/rig/arm64}) boots an emulated arm64 machine (L1: qemu-system-aarch64 TCG, virt with
 * virtualization=on and GICv3) whose kernel runs KVM at EL2; inside it, jvmm ({@code --arch arm64}, on Debian 13's
 * arm64 JDK 25) boots the arm64 guest kit's Debian kernel as L2. The test checks what L2 itself printed on the
 * PL011 console: the guest kit's /init line {@code JVMM-GUEST-UP cpus=N mem_kb=M kernel=V}, which only a booted
 * kernel with a working userspace can produce. L2 also gets a virtio-blk disk (the payload's 4 MiB
 * {@code /guest/disk.img}) and a virtio-console that is its {@code /dev/console}, so the marker travels through
 * virtio-console, and the kernel's line about {@code vda} shows the disk's size read from virtio-blk's config space.
 *
 * <p>The jvmm in L1 is this build's: the modules {@code org.jvmm.cli} resolves to from this test's class path are
 * staged as jars into {@code build/rig-arm64/modules} and put on the payload disk.
 *
 * <p>Prerequisites: {@code qemu-system-aarch64}, apt-get (the payload's trixie packages are downloaded once
 * through a private apt configuration), the rig's image tools, and the arm64 guest kit
 * ({@code bin/guest-kit --arch arm64}). Missing ones skip the test, or fail it under {@code -Djvmm.requireAll=true}.
 * Expect about a minute per run once the images are built: L1 boots in a few seconds, jvmm's JVM takes about
 * 20 s to start in L1, L2 boots in about 15 s.
 */
class NestedArm64RigTest {
    /** Hang guard for build-rig plus one rig run; a healthy run takes a fraction of it. */
    private static final long HANG_GUARD_SECONDS = 10 * 60;
    /** Bound, inside L1, on the payload. */
    private static final String PAYLOAD_TIMEOUT_SECONDS = "300";

    private static Path root;
    private static Path kit;

    @BeforeAll
    static void prerequisites() {
        root = RigRuns.repoRoot();
        RigRuns.require(Files.isExecutable(rig("run-rig")), "the arm64 rig scripts are missing under " + rig(""));
        for (String tool : List.of("qemu-system-aarch64", "apt-get", "mkfs.ext4", "cpio", "depmod", "modprobe", "dpkg-deb")) {
            RigRuns.require(RigRuns.onPath(tool), tool + " is missing: install it (see jvmm/src/test/rig/arm64/build-rig)");
        }
        kit = Path.of(System.getProperty("jvmm.rigArm64Guest", root.resolve(".guest/arm64").toString()));
        RigRuns.require(Files.isRegularFile(kit.resolve("vmlinuz")) && Files.isRegularFile(kit.resolve("initramfs.cpio.gz")),
                "the arm64 guest kit is missing in " + kit + ": run bin/guest-kit --arch arm64");
    }

    /** 4 MiB in 512-byte sectors: what build-rig makes /guest/disk.img. */
    private static final String VDA = "virtio_blk virtio0: [vda] 8192 512-byte logical blocks";
    private static final String HVC0 = "console [hvc0] enabled";

    /**
     * Two vCPUs (the secondary is started by the guest's PSCI CPU_ON, which KVM's in-kernel PSCI handles), a
     * read-only virtio-blk disk and a virtio-console as the guest's last {@code console=}, i.e. its /dev/console.
     */
    @Test
    void jvmmBootsTheDebianArm64KernelAsL2ThroughKvmArm64() throws Exception {
        List<String> out = runRig("--payload", "jvmm", "--cpus", "2", "--mem", "512M", "--modules", RigRuns.stageJvmmModules(root.resolve("build/rig-arm64/modules")).toString(),
                "--cmdline", "console=ttyAMA0 console=hvc0 jvmm.halt=poweroff",
                "--jvmm-args", "--disk /guest/disk.img,ro --console stdio");
        assertTrue(out.stream().anyMatch(l -> l.contains(VDA)), "L2 never found the 4 MiB virtio-blk disk\n" + RigRuns.tail(out));
        assertTrue(out.stream().anyMatch(l -> l.contains(HVC0)), "L2 never enabled the virtio-console hvc0\n" + RigRuns.tail(out));
        Matcher up = out.stream().map(RigRuns.GUEST_UP::matcher).filter(Matcher::find).findFirst().orElse(null);
        if (up == null) fail("L2 never printed JVMM-GUEST-UP under jvmm's KVM arm64 backend\n" + RigRuns.tail(out));
        assertEquals(2, Integer.parseInt(up.group(1)), "L2's online CPUs: " + up.group());
        long memKb = Long.parseLong(up.group(2));
        // MemTotal of a 512 MiB guest: below 524288 kB by what the kernel reserves (the CMA area counts), not by half.
        assertTrue(memKb >= 300_000 && memKb <= 524_288, "L2's MemTotal with --mem 512M: " + up.group());
        assertTrue(up.group(3).endsWith("-arm64"), "L2 runs the arm64 kernel: " + up.group());
        assertEquals(0, RigRuns.payloadExit(out), "jvmm's exit status inside L1 (the guest powered off with PSCI SYSTEM_OFF)\n" + RigRuns.tail(out));
    }

    /**
     * The arm64 conformance guests mmio and smp ({@code arch-arm64/src/test/guests}) through KVM arm64 in L1, by
     * {@code KvmArm64Conformance}, which prints every probe access: stores of each size from low, high and zero
     * registers; loads of each size completed through {@code kvm_run} into the right register; and PSCI — KVM's —
     * with CPU_ON starting a second vCPU with its context ID and MPIDR.
     *
     * <p>Sign-extending loads (LDRSB, LDRSH, LDRSW, LDURSH) are checked in the bytes the device returned only: in
     * this rig they arrive zero-extended. KVM completes the load itself from the bytes jvmm put in {@code kvm_run};
     * L1's KVM gets ESR_EL2.SSE set ({@code run-rig --kvm-trace}), and the kernel's {@code kvm_handle_mmio_return}
     * (arch/arm64/kvm/mmio.c) masks the extended value back to the access size ({@code vcpu_data_host_to_guest}). The
     * rig's README has the details. The HVF backend, which extends the value itself, is held to the full values.
     */
    @Test
    void kvmArm64RunsTheConformanceGuests() throws Exception {
        for (String tool : List.of("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-ld", "aarch64-linux-gnu-objcopy")) {
            RigRuns.require(RigRuns.onPath(tool), tool + " is missing: install gcc-aarch64-linux-gnu and binutils-aarch64-linux-gnu");
        }
        Path modules = RigRuns.stageJvmmModules(root.resolve("build/rig-arm64/modules"));
        Path extra = root.resolve("build/rig-arm64/conformance");
        buildConformance(modules, extra);
        List<String> out = runRig("--payload", "conformance", "--modules", modules.toString(), "--extra", extra.toString());
        List<String> mmio = conformance(out, "mmio"), smp = conformance(out, "smp");
        assertEquals(List.of(
                "write 10 1 88",                       // STRB w0
                "write 20 2 718",                      // STRH w30
                "write 30 4 e5f60718",                 // STR w30
                "write 40 8 a1b2c3d4e5f60718",         // STR x30
                "write 48 8 0",                        // STR xzr
                "write 51 8 1122334455667788",         // STUR x0, unaligned
                "write 60 8 1122334455667788",         // STR x0, [x9, x5]
                "read 100 1 88", "read 100 2 9788", "read 100 4 b5a69788", "read 100 8 f1e2d3c4b5a69788",
                "read 100 1 88", "read 100 2 9788", "read 100 4 b5a69788", "read 101 2 9788",
                "read 100 8 f1e2d3c4b5a69788", "read 100 8 f1e2d3c4b5a69788",
                "write 200 8 88",                      // LDRB w0: zero-extended into x0
                "write 208 8 9788",                    // LDRH w17
                "write 210 8 b5a69788",                // LDR w28: upper half cleared
                "write 218 8 f1e2d3c4b5a69788",        // LDR x30
                "write 220 8 *88",                     // LDRSB x1 (see above)
                "write 228 8 *9788",                   // LDRSH w2
                "write 230 8 *b5a69788",               // LDRSW x3
                "write 238 8 *9788",                   // LDURSH x4
                "write 240 8 f1e2d3c4b5a69788",        // LDR x6, [x9, x5]
                "exit 0 the guest powered off"), masked(mmio), "mmio guest\n" + RigRuns.tail(out));
        assertTrue(smp.contains("write 500 8 10001"), "PSCI_VERSION by HVC answered by KVM (PSCI 1.1): " + smp);
        assertTrue(smp.contains("write 510 8 0"), "CPU_ON returns SUCCESS: " + smp);
        assertTrue(smp.contains("write 600 8 5a5a"), "the secondary starts with X0 = context ID: " + smp);
        assertTrue(smp.stream().anyMatch(l -> l.startsWith("write 608 8 ") && (Long.parseUnsignedLong(l.substring(12), 16) & 0xff_00ff_ffffL) == 1),
                "the secondary's MPIDR_EL1 affinity is 1: " + smp);
        assertTrue(smp.contains("write 518 8 77"), "vCPU 0 saw the secondary's write to RAM: " + smp);
        assertEquals("exit 0 the guest powered off", smp.getLast(), "smp guest: " + smp);
    }

    /** The CONFORMANCE lines of {@code guest}, without the prefix. */
    private static List<String> conformance(List<String> out, String guest) {
        String prefix = "CONFORMANCE " + guest + " ";
        return out.stream().map(l -> l.indexOf(prefix) >= 0 ? l.substring(l.indexOf(prefix) + prefix.length()) : null)
                .filter(l -> l != null).toList();
    }

    /** The sign-extending loads' stores (0x220-0x238) reduced to their low bytes, marked with '*'. */
    private static List<String> masked(List<String> mmio) {
        return mmio.stream().map(l -> {
            String[] f = l.split(" ");
            if (f.length != 4 || !f[0].equals("write")) return l;
            int bytes = switch (f[1]) { case "220" -> 1; case "228", "238" -> 2; case "230" -> 4; default -> 0; };
            if (bytes == 0) return l;
            long low = Long.parseUnsignedLong(f[3], 16) & ((1L << (8 * bytes)) - 1);
            return "write " + f[1] + " 8 *" + Long.toHexString(low);
        }).toList();
    }

    /** Assembles the guests and compiles KvmArm64Conformance (arch-arm64's test source) against the staged jars. */
    private static void buildConformance(Path modules, Path extra) throws Exception {
        Files.createDirectories(extra);
        Path guests = root.resolve("arch-arm64/src/test/guests");
        Path work = Files.createTempDirectory("conformance");
        for (String g : List.of("mmio", "smp")) {
            Path o = work.resolve(g + ".o"), elf = work.resolve(g + ".elf");
            exec("aarch64-linux-gnu-gcc", "-c", "-I", guests.toString(), "-o", o.toString(), guests.resolve(g + ".S").toString());
            exec("aarch64-linux-gnu-ld", "-Ttext=0x40000000", "-o", elf.toString(), o.toString());
            exec("aarch64-linux-gnu-objcopy", "-O", "binary", elf.toString(), extra.resolve(g + ".img").toString());
        }
        String classPath;
        try (Stream<Path> jars = Files.list(modules)) { // jars one by one: only the java launcher expands "dir/*"
            classPath = String.join(File.pathSeparator, jars.map(Path::toString).sorted().toList());
        }
        int status = ToolProvider.findFirst("javac").orElseThrow().run(System.out, System.err, "--release", "22",
                "-cp", classPath, "-d", extra.toString(),
                root.resolve("arch-arm64/src/test/java/org/jvmm/arm64/kvm/KvmArm64Conformance.java").toString());
        assertEquals(0, status, "javac of KvmArm64Conformance");
    }

    private static void exec(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "hung: " + String.join(" ", command));
        assertEquals(0, p.exitValue(), String.join(" ", command) + "\n" + output);
    }

    /** Runs run-rig (which runs build-rig first) and returns its output, lines without carriage returns. */
    private static List<String> runRig(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(rig("run-rig").toString(), "--timeout", PAYLOAD_TIMEOUT_SECONDS,
                "--guest", kit.toString()));
        command.addAll(List.of(args));
        return RigRuns.run(root, command, HANG_GUARD_SECONDS);
    }

    private static Path rig(String name) {
        return root.resolve("jvmm/src/test/rig/arm64").resolve(name);
    }
}
