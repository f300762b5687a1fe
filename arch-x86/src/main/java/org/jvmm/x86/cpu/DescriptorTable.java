package org.jvmm.x86.cpu;

/** A GDTR or IDTR: base address and limit (size in bytes minus one). */
public record DescriptorTable(long base, int limit) {}
