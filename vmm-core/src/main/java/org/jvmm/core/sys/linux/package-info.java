/**
 * The FFM binding to Linux's libc ({@link org.jvmm.core.sys.linux.LinuxLibc}) and the small Linux types
 * built on it: eventfd notifiers and memfd-backed guest memory. The only package besides the KVM binding
 * that calls {@link java.lang.foreign.Linker}.
 */
package org.jvmm.core.sys.linux;
