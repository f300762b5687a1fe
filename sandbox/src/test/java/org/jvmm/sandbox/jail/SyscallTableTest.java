package org.jvmm.sandbox.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Spot checks of the syscall tables against the kernel's ({@code arch/x86/entry/syscalls/syscall_64.tbl},
 * {@code include/uapi/asm-generic/unistd.h}), for the calls the policies and the tests depend on.
 */
class SyscallTableTest {

    @Test
    void x86_64NumbersAreTheKernels() {
        Map<String, Integer> expected = Map.of("read", 0, "write", 1, "open", 2, "clone", 56, "execve", 59,
                "socket", 41, "openat", 257, "seccomp", 317, "clone3", 435, "newfstatat", 262);
        expected.forEach((name, nr) -> assertEquals(nr, SyscallTable.number(SeccompArch.X86_64, name).orElse(-1), name));
        assertEquals("openat", SyscallTable.name(SeccompArch.X86_64, 257));
    }

    @Test
    void arm64NumbersAreTheGenericTables() {
        Map<String, Integer> expected = Map.of("read", 63, "write", 64, "openat", 56, "clone", 220, "execve", 221,
                "socket", 198, "seccomp", 277, "clone3", 435, "newfstatat", 79, "futex", 98);
        expected.forEach((name, nr) -> assertEquals(nr, SyscallTable.number(SeccompArch.AARCH64, name).orElse(-1), name));
        assertTrue(SyscallTable.number(SeccompArch.AARCH64, "open").isEmpty(), "arm64 has only openat");
    }

    @Test
    void unknownNumbersPrintAsNumbers() {
        assertEquals("syscall 1073741825", SyscallTable.name(SeccompArch.X86_64, 0x4000_0001));
        assertEquals("syscall 4294967295", SyscallTable.name(SeccompArch.AARCH64, -1));
    }
}
