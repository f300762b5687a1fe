/**
 * The Hypervisor.framework backend for arm64 guests: {@link org.jvmm.arm64.hvf.Hvf}, the FFM binding of the
 * {@code hv_*} C API (the only place with downcalls into the framework), and
 * {@link org.jvmm.arm64.hvf.HvfArm64Hypervisor} with its VM and vCPU implementing jvmm's hypervisor SPI.
 *
 * <p>Verification status, plainly: no Mac was available. This code has been exercised against hvfsim, a simulated
 * framework (a C library on Unicorn's AArch64 emulator in this module's tests) that exports the same functions
 * with the same exit semantics, called through this same FFM code — but with the x86-64 SysV calling convention,
 * not Apple's arm64 one. Running on Apple silicon is unverified.
 */
package org.jvmm.arm64.hvf;
