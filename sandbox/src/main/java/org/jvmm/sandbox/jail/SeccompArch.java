package org.jvmm.sandbox.jail;

import java.util.Optional;

/**
 * The architectures a seccomp filter can be compiled for, each with the {@code AUDIT_ARCH_*} value the
 * kernel puts in {@code seccomp_data.arch} ({@code <linux/audit.h>}: the ELF machine number, with
 * {@code __AUDIT_ARCH_64BIT} and {@code __AUDIT_ARCH_LE}).
 *
 * <p>A filter checks the architecture before it looks at a syscall number, because numbers mean
 * different calls under different ABIs: on x86-64 a process can still enter the kernel through the
 * i386 ABI ({@code int 0x80}, {@code AUDIT_ARCH_I386}), where 5 is {@code open} instead of
 * {@code fstat}.
 */
public enum SeccompArch {
    /** {@code AUDIT_ARCH_X86_64}: EM_X86_64 (62), 64-bit, little-endian. */
    X86_64(0xC000003E),
    /** {@code AUDIT_ARCH_AARCH64}: EM_AARCH64 (183), 64-bit, little-endian. */
    AARCH64(0xC00000B7);

    private final int auditArch;

    SeccompArch(int auditArch) {
        this.auditArch = auditArch;
    }

    /** The {@code AUDIT_ARCH_*} value of {@code seccomp_data.arch}. */
    public int auditArch() {
        return auditArch;
    }

    /** The architecture this JVM runs on; empty on one jvmm has no syscall table for. */
    public static Optional<SeccompArch> host() {
        return switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> Optional.of(X86_64);
            case "aarch64" -> Optional.of(AARCH64);
            default -> Optional.empty();
        };
    }

    /** The architecture whose {@code AUDIT_ARCH_*} value is {@code auditArch}, if it is one of these. */
    public static Optional<SeccompArch> ofAuditArch(int auditArch) {
        for (SeccompArch a : values()) {
            if (a.auditArch == auditArch) return Optional.of(a);
        }
        return Optional.empty();
    }
}
