package org.jvmm.core.run;

/**
 * How a machine ended.
 *
 * @param exitCode 0 when the guest powered off or rebooted, non-zero on an error
 * @param reason   one line for the user
 */
public record MachineExit(int exitCode, String reason) {}
