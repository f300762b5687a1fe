package org.jvmm.virtio; /** placeholder */ final class Placeholder {}
