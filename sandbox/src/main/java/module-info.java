/** Device helper processes (vhost-user back-ends in sandboxed JVMs serving jvmm's virtio devices) and jvmm's vhost-user front-end. */
module org.jvmm.sandbox {
    requires transitive org.jvmm.core;
    requires transitive org.jvmm.virtio;
    requires java.logging;

    exports org.jvmm.sandbox;
    exports org.jvmm.sandbox.frontend;
    exports org.jvmm.sandbox.vhost;
    exports org.jvmm.sandbox.jail;
    exports org.jvmm.sandbox.peer;
}
