package org.jvmm.cli; /** placeholder */ final class Placeholder {}
