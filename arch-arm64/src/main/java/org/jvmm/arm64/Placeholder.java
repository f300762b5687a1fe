package org.jvmm.arm64; /** placeholder */ final class Placeholder {}
