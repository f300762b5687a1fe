package org.jvmm.sandbox;

import org.jvmm.core.ConfigurationException;

/** Where jvmm's virtio devices run: {@code --sandbox=process|none}. */
public enum Sandbox {
    /** Each device in its own helper process, behind jvmm's vhost-user front-end (the default). */
    PROCESS,
    /** The same device code inside jvmm's own process. */
    NONE;

    /** The mode named {@code text} ("process" or "none"). */
    public static Sandbox parse(String text) {
        return switch (text) {
            case "process" -> PROCESS;
            case "none" -> NONE;
            default -> throw new ConfigurationException("Bad --sandbox '" + text + "': give process or none.");
        };
    }
}
