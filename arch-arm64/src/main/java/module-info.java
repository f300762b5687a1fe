/** arm64: memory layout, FDT, PSCI, ESR decoding, the Hypervisor.framework arm64 backend and the KVM arm64 backend. */
module org.jvmm.arm64 {
    requires transitive org.jvmm.core;
    requires org.jvmm.loader;

    exports org.jvmm.arm64;
    exports org.jvmm.arm64.devices;
    exports org.jvmm.arm64.esr;
    exports org.jvmm.arm64.fdt;
    exports org.jvmm.arm64.hvf;
    exports org.jvmm.arm64.kvm;
    exports org.jvmm.arm64.psci;

    provides org.jvmm.core.platform.Platform with org.jvmm.arm64.Arm64Platform;
}
