/**
 * The FFM binding to Linux's libc ({@link org.jvmm.core.sys.linux.LinuxLibc}) and the small Linux types
 * built on it (eventfd notifiers). With the KVM binding and macOS's libc binding ({@code org.jvmm.core.sys.darwin})
 * the only packages that call {@link java.lang.foreign.Linker}; portable code goes through
 * {@link org.jvmm.core.sys.Posix}.
 */
package org.jvmm.core.sys.linux;
