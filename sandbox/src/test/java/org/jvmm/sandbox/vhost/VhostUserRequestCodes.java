package org.jvmm.sandbox.vhost;

import java.util.Arrays;

/** The wire codes of every request the back-end knows, for generators. */
final class VhostUserRequestCodes {
    static final int[] ALL = Arrays.stream(VhostUserRequest.values()).mapToInt(VhostUserRequest::code).toArray();

    private VhostUserRequestCodes() {}
}
