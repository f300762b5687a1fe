/** The {@code jvmm} command. */
module org.jvmm.cli {
    requires org.jvmm.core;
    requires org.jvmm.loader;
    requires org.jvmm.x86;
    requires org.jvmm.arm64;
    requires org.jvmm.virtio;
    requires org.jvmm.sandbox;
    requires info.picocli;
    opens org.jvmm.cli to info.picocli;
}
