/** x86-64: memory layout, Linux boot structures, ACPI tables, platform devices, and the KVM x86 backend. */
module org.jvmm.x86 {
    requires transitive org.jvmm.core;
    requires org.jvmm.loader;

    exports org.jvmm.x86;
    exports org.jvmm.x86.acpi;
    exports org.jvmm.x86.boot;
    exports org.jvmm.x86.cpu;
    exports org.jvmm.x86.devices;
    exports org.jvmm.x86.kvm;

    provides org.jvmm.core.platform.Platform with org.jvmm.x86.X86Platform;
}
