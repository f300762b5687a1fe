package org.jvmm.sandbox.jail;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The binding for macOS's {@code <sandbox.h>} in libSystem: {@code sandbox_init} with a profile string
 * and {@code sandbox_free_error}. Apple marks the pair deprecated but ships it and uses it; it is the only
 * way a process sandboxes itself with a profile of its own.
 *
 * <pre>
 * int  sandbox_init(const char *profile, uint64_t flags, char **errorbuf);   // flags 0: profile is SBPL text
 * void sandbox_free_error(char *errorbuf);
 * </pre>
 * The sandbox applies to the whole calling process, for good; there is no way back.
 *
 * <p><strong>Unverified:</strong> compiled and linked lazily here, never run on a Mac. On other systems
 * {@link #init} throws {@link UnsupportedOperationException}.
 */
public final class MacSandbox {

    private MacSandbox() {}

    private static final class Calls {
        static final Linker LINKER = Linker.nativeLinker();
        static final MethodHandle SANDBOX_INIT = link("sandbox_init", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        static final MethodHandle SANDBOX_FREE_ERROR = link("sandbox_free_error", FunctionDescriptor.ofVoid(ADDRESS));

        static MethodHandle link(String name, FunctionDescriptor d) {
            MemorySegment symbol = LINKER.defaultLookup().find(name)
                    .orElseThrow(() -> new UnsupportedOperationException("no " + name + ": Seatbelt exists only on macOS"));
            return LINKER.downcallHandle(symbol, d);
        }
    }

    /** Applies the SBPL {@code profile} to this process; throws with the sandbox's own message if it refuses. */
    public static void init(String profile) {
        if (!System.getProperty("os.name").startsWith("Mac")) {
            throw new UnsupportedOperationException("Seatbelt exists only on macOS, not " + System.getProperty("os.name"));
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment error = a.allocate(ADDRESS);
            int r = (int) Calls.SANDBOX_INIT.invokeExact(a.allocateFrom(profile), 0L, error);
            if (r != 0) {
                MemorySegment message = error.get((AddressLayout) ADDRESS, 0);
                String text = message.equals(MemorySegment.NULL) ? "no message" : message.reinterpret(4096).getString(0);
                if (!message.equals(MemorySegment.NULL)) Calls.SANDBOX_FREE_ERROR.invokeExact(message);
                throw new IllegalStateException("sandbox_init refused the profile: " + text);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
