package org.jvmm.x86.boot;

import org.jvmm.x86.cpu.X86Registers;
import org.jvmm.x86.cpu.X86SpecialRegisters;

/**
 * The state the boot CPU starts in, as a boot protocol defines it: what a loader hands to vCPU 0.
 *
 * @param registers        general registers (entry point, boot-information pointer)
 * @param specialRegisters segments, descriptor tables, control registers, EFER
 */
public record BootCpu(X86Registers registers, X86SpecialRegisters specialRegisters) {}
