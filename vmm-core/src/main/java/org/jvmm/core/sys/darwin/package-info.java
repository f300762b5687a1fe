/**
 * The FFM binding to macOS's libc, libSystem ({@link org.jvmm.core.sys.darwin.DarwinLibc}), and Darwin's
 * error numbers ({@link org.jvmm.core.sys.darwin.DarwinErrno}): the calls that
 * {@link org.jvmm.core.sys.Posix} makes when jvmm runs on macOS. The binding follows the macOS SDK and xnu
 * headers for LP64 (arm64 and x86-64). It has never run on macOS in this project: it is compile-checked,
 * and its struct layouts and constants are unit-tested against the headers' values on Linux, where every
 * call refuses to link rather than reach glibc's symbols of the same names.
 */
package org.jvmm.core.sys.darwin;
