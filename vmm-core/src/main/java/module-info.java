/**
 * jvmm's core: the hypervisor lifecycle SPI and exit vocabulary, guest memory, the MMIO and port buses,
 * interrupt lines, the per-vCPU exit loop, exit observers, the embedding builder, and the FFM binding
 * layers for the host OS (libc) and KVM. Knows nothing of x86 or arm64.
 */
module org.jvmm.core {
    requires transitive java.logging;
    requires jdk.jfr;
    requires HdrHistogram;

    exports org.jvmm.core;
    exports org.jvmm.core.bus;
    exports org.jvmm.core.console;
    exports org.jvmm.core.hypervisor;
    exports org.jvmm.core.irq;
    exports org.jvmm.core.memory;
    exports org.jvmm.core.observe;
    exports org.jvmm.core.platform;
    exports org.jvmm.core.run;
    exports org.jvmm.core.sys;
    exports org.jvmm.core.sys.darwin;
    exports org.jvmm.core.sys.linux;
    exports org.jvmm.core.sys.linux.kvm;

    uses org.jvmm.core.platform.Platform;
}
