package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The policies as data: the format, its errors (each naming policy and line), and the shipped policies
 * themselves, whose every call name must exist (a misspelt name would silently allow nothing).
 */
class SeccompPolicyTest {

    private static final List<String> SHIPPED = List.of("base", "vhost-user", "blk", "net", "console");

    @Test
    void readsTheFormat() {
        SeccompPolicy p = SeccompPolicy.parse("t", """
                # comment
                futex   # hot
                @include inner
                clone if arg0 & 0x10000 == 0x10000
                newfstatat if arg3 & 0x1000 == 0x1000 else errno EACCES
                clone3 errno ENOSYS
                """, name -> "read\nwrite\n");
        assertEquals(List.of(
                new SeccompRule("futex", new SeccompRule.Allow()),
                new SeccompRule("read", new SeccompRule.Allow()),
                new SeccompRule("write", new SeccompRule.Allow()),
                new SeccompRule("clone", new SeccompRule.AllowIf(0, 0x10000, 0x10000, 0)),
                new SeccompRule("newfstatat", new SeccompRule.AllowIf(3, 0x1000, 0x1000, 13)),
                new SeccompRule("clone3", new SeccompRule.Errno(38))), p.rules());
    }

    @Test
    void errorsNameThePolicyAndTheLine() {
        var e = assertThrows(IllegalArgumentException.class, () -> SeccompPolicy.parse("p", "futex\nclone if arg9 & 1 == 1\n", n -> ""));
        assertTrue(e.getMessage().startsWith("policy p line 2: "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SeccompPolicy.parse("p", "openat errno ENOPE\n", n -> ""));
        assertTrue(e.getMessage().contains("ENOPE"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SeccompPolicy.parse("p", "read\nread\n", n -> ""));
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SeccompPolicy.parse("p", "@include p\n", n -> "@include p\n"));
        assertTrue(e.getMessage().contains("includes itself"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SeccompPolicy.parse("p", "clone if arg0 & 0x1 == 0x3\n", n -> ""),
                "a value with bits outside the mask never matches");
        assertThrows(IllegalArgumentException.class, () -> SeccompPolicy.parse("p", "Read\n", n -> ""));
        assertThrows(IllegalArgumentException.class, () -> SeccompPolicy.forDevice("../base"));
        assertThrows(IllegalArgumentException.class, () -> SeccompPolicy.forDevice("gpu"));
    }

    @Test
    void everyNameInTheShippedPoliciesIsASystemCall() {
        for (String device : SHIPPED) {
            for (SeccompRule r : SeccompPolicy.forDevice(device).rules()) {
                assertTrue(SyscallTable.number(SeccompArch.X86_64, r.syscall()).isPresent()
                        || SyscallTable.number(SeccompArch.AARCH64, r.syscall()).isPresent(), device + ": " + r.syscall());
            }
        }
    }

    @Test
    void devicePoliciesBuildOnTheBaseAndNeverAllowProcessesFilesOrSockets() {
        Map<String, SeccompRule> blk = rules("blk");
        for (SeccompRule base : SeccompPolicy.forDevice("base").rules()) {
            assertEquals(base, blk.get(base.syscall()), "blk keeps base's rule for " + base.syscall());
        }
        assertTrue(blk.containsKey("fdatasync"));
        assertFalse(rules("net").containsKey("fdatasync"), "only the disk flushes");
        for (String device : List.of("blk", "net", "console")) {
            Map<String, SeccompRule> p = rules(device);
            for (String never : List.of("execve", "execveat", "fork", "vfork", "socket", "socketpair", "connect", "bind",
                    "ptrace", "process_vm_writev", "unshare", "setns", "mount", "bpf", "io_uring_setup", "memfd_create")) {
                assertFalse(p.containsKey(never), device + " must not allow " + never);
            }
            assertEquals(new SeccompRule.AllowIf(0, 0x10000, 0x10000, 0), p.get("clone").action(), "threads only");
            assertEquals(new SeccompRule.Errno(38), p.get("clone3").action(), "ENOSYS, so glibc falls back to clone");
            assertEquals(new SeccompRule.Errno(13), p.get("openat").action());
            for (SeccompArch arch : SeccompArch.values()) {
                BpfProgram program = SeccompCompiler.compile(SeccompPolicy.forDevice(device), arch, SeccompMode.ENFORCE);
                assertTrue(program.instructions().size() < 300, device + " on " + arch + ": " + program.instructions().size());
            }
        }
    }

    private static Map<String, SeccompRule> rules(String device) {
        return SeccompPolicy.forDevice(device).rules().stream()
                .collect(java.util.stream.Collectors.toMap(SeccompRule::syscall, r -> r));
    }
}
