package org.jvmm.loader.kit;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
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
     * once the shell's prompt has followed the marker. Skips the test if the QEMU binary is missing, unless jvmm.requireAll.
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
        CountDownLatch prompt = new CountDownLatch(1);
        Thread reader = Thread.ofPlatform().start(() -> {
            // Character by character: the shell's prompt ends no line.
            try (Reader r = new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)) {
                int markerAt = -1;
                for (int c; (c = r.read()) != -1; ) {
                    if (c != '\r') log.append((char) c);
                    if (markerAt < 0 && c == '\n' && MARKER.matcher(log).find()) markerAt = log.length();
                    // busybox ash's prompt after the marker: input typed before it may be lost while the shell
                    // sets its terminal up (a fixed delay was not enough on a loaded machine).
                    if (markerAt >= 0 && log.indexOf("# ", markerAt) >= 0) prompt.countDown();
                }
            } catch (IOException ignored) {
                // the process ended
            }
            prompt.countDown();
        });
        try (OutputStream console = p.getOutputStream()) {
            if (input != null && prompt.await(150, TimeUnit.SECONDS)) {
                console.write(input.getBytes(StandardCharsets.UTF_8));
                console.flush();
            }
        }
        assertTrue(p.waitFor(150, TimeUnit.SECONDS), "QEMU hung:\n" + log);
        reader.join();
        return new QemuBoot(p.exitValue(), log.toString());
    }
}
