/** Device helper processes: vhost-user backends in sandboxed JVMs, and the frontend that drives them. */
module org.jvmm.sandbox {
    requires transitive org.jvmm.core;
    requires org.jvmm.virtio;
}
