package org.jvmm.arm64.psci;

/**
 * The answer to one PSCI call.
 *
 * @param x0     the value for the caller's X0 (a PSCI return code or the function's result); meaningless
 *               when {@code action} says the call does not return
 * @param action what the backend does besides
 */
public record PsciResult(long x0, PsciAction action) {

    static PsciResult ret(long x0) {
        return new PsciResult(x0, PsciAction.RESUME);
    }
}
