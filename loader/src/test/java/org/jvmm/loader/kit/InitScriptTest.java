package org.jvmm.loader.kit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The /init text; GuestKitTest runs it for real in a booted guest. */
class InitScriptTest {

    static final List<String> MODULES = List.of("kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko");

    @Test
    void loadsTheModulesInTheGivenOrderFromTheVersionsDirectory() {
        List<String> insmods = InitScript.render("6.1.0-9-amd64", MODULES, false).lines()
                .filter(l -> l.startsWith("insmod ")).toList();
        assertEquals(2, insmods.size());
        assertTrue(insmods.get(0).startsWith("insmod /lib/modules/6.1.0-9-amd64/kernel/drivers/virtio/virtio_ring.ko "));
        assertTrue(insmods.get(1).startsWith("insmod /lib/modules/6.1.0-9-amd64/kernel/drivers/virtio/virtio.ko "));
    }

    @Test
    void installsAppletsOnlyWhenAsked() {
        assertFalse(InitScript.render("v", MODULES, false).contains("--install"));
        assertTrue(InitScript.render("v", MODULES, true).contains("/bin/busybox --install -s\n"));
    }

    @Test
    void busyboxShAcceptsTheSyntax(@TempDir Path dir) throws Exception {
        boolean haveBusybox = Tools.find("busybox").isPresent();
        if (!haveBusybox && Boolean.getBoolean("jvmm.requireAll")) fail("busybox is not installed (Debian package busybox-static)");
        Assumptions.assumeTrue(haveBusybox, "busybox is not installed");
        Path init = Files.writeString(dir.resolve("init"), InitScript.render("v", MODULES, true));
        Process p = new ProcessBuilder(Tools.find("busybox").orElseThrow().toString(), "sh", "-n", init.toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes()));
    }
}
