/** arm64: memory layout, FDT, PSCI, and the Hypervisor.framework arm64 and KVM arm64 backends. */
module org.jvmm.arm64 {
    requires transitive org.jvmm.core;
    requires org.jvmm.loader;
}
