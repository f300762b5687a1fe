package org.jvmm.loader.kit;

import org.junit.jupiter.api.Assumptions;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One QEMU run of a guest kit, bounded by {@code timeout 120}: its exit status and console log.
 *
 * @param status QEMU's exit status (124 if the timeout killed it)
 * @param log    everything it printed, carriage returns removed
 */
record QemuBoot(int status, String log) {

    static final Pattern MARKER = Pattern.compile("JVMM-GUEST-UP cpus=(\\d+) mem_kb=(\\d+) kernel=(\\S+)");

    /** The marker line's match; fails the test if the guest never printed it. */
    Matcher marker() {
        Matcher m = MARKER.matcher(log);
        assertTrue(m.find(), "no JVMM-GUEST-UP marker:\n" + log);
        return m;
    }

    /**
     * Runs {@code qemu} (the command and its arguments), typing {@code input} (may be null) on the console
     * once the marker has appeared. Skips the test if the QEMU binary is missing, unless jvmm.requireAll.
     */
    static QemuBoot run(List<String> qemu, String input) throws Exception {
        if (Tools.find(qemu.getFirst()).isEmpty()) {
            if (Boolean.getBoolean("jvmm.requireAll")) fail(qemu.getFirst() + " is not installed");
            Assumptions.abort(qemu.getFirst() + " is not installed");
        }
        List<String> command = new ArrayList<>(List.of("timeout", "120"));
        command.addAll(qemu);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        StringBuffer log = new StringBuffer();
        CountDownLatch marker = new CountDownLatch(1);
        Thread reader = Thread.ofPlatform().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    log.append(line.replace("\r", "")).append('\n');
                    if (MARKER.matcher(line).find()) marker.countDown();
                }
            } catch (IOException ignored) {
                // the process ended
            }
            marker.countDown();
        });
        try (OutputStream console = p.getOutputStream()) {
            if (input != null && marker.await(150, TimeUnit.SECONDS)) {
                Thread.sleep(500); // let the shell start reading; earlier characters would only be echoed anyway
                console.write(input.getBytes(StandardCharsets.UTF_8));
                console.flush();
            }
        }
        assertTrue(p.waitFor(150, TimeUnit.SECONDS), "QEMU hung:\n" + log);
        reader.join();
        return new QemuBoot(p.exitValue(), log.toString());
    }
}
