package org.jvmm.x86; /** placeholder */ final class Placeholder {}
