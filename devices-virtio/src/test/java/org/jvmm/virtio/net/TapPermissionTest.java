package org.jvmm.virtio.net;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A TAP device this process may not create is one sentence saying what to do, and so is a TAP device on
 * macOS. The permission test runs the open in a child JVM started through {@code setpriv} without
 * CAP_NET_ADMIN in its bounding set, so even root cannot create an interface there.
 */
@Timeout(120)
class TapPermissionTest {

    /** The child: tries to open the TAP device named by its argument and prints the outcome. */
    public static final class Probe {
        public static void main(String[] args) {
            try (TapBackend tap = TapBackend.open(args[0])) {
                System.out.println("OPENED " + tap.describe());
            } catch (ConfigurationException e) {
                System.out.println("CONFIG " + e.getMessage());
            }
        }
    }

    @Test
    void onMacOsTheErrorSaysTapIsLinuxOnlyAndWhatToUseInstead() {
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> TapBackend.open("tap0", true));
        assertEquals("TAP devices (--net tap:tap0) exist only on Linux: on this host use --net unixgram:SOCKET with a vfkit-style datagram"
                + " socket (gvproxy -listen-vfkit unixgram://SOCKET) or --net passt:SOCKET with a passt-style stream socket.", e.getMessage());
    }

    @Test
    void withoutNetAdminTheErrorSaysWhatToDo() throws Exception {
        VirtioNetKvmTest.require(VirtioNetKvmTest.onPath("setpriv"), "setpriv (util-linux) is not installed");
        VirtioNetKvmTest.require(Files.exists(Path.of("/dev/net/tun")), "/dev/net/tun is missing");
        String name = "jvp" + ProcessHandle.current().pid() % 100000;
        Process p = new ProcessBuilder("setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-all",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName(), name)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals("CONFIG TAP device " + name + " is not permitted for this user: create it with 'ip tuntap add dev " + name
                + " mode tap user $USER vnet_hdr' or run jvmm with CAP_NET_ADMIN.", out);
    }
}
