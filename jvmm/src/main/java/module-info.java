/** The {@code jvmm} command: options, the console (raw terminal, Ctrl-A escape) and the exit observers it installs. */
module org.jvmm.cli {
    requires org.jvmm.core;
    requires org.jvmm.loader;
    requires org.jvmm.x86;
    requires org.jvmm.arm64;
    requires org.jvmm.virtio;
    requires org.jvmm.sandbox;
    requires info.picocli;
    requires jdk.jfr;
    opens org.jvmm.cli to info.picocli;
}
