/** Kernel image formats (bzImage, ELF vmlinux with a PVH note, arm64 Image), initrd, the initramfs writer and the guest kit. */
module org.jvmm.loader {
    requires transitive org.jvmm.core;

    exports org.jvmm.loader;
    exports org.jvmm.loader.initramfs;
    exports org.jvmm.loader.kit;
}
