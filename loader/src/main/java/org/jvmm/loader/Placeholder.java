package org.jvmm.loader; /** placeholder */ final class Placeholder {}
