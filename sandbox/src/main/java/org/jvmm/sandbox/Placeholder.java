package org.jvmm.sandbox; /** placeholder */ final class Placeholder {}
