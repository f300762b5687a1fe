package org.jvmm.loader.kit;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
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
     * Runs {@code qemu} (the command and its arguments), typing {@code input} (may be null) on the console as a
     * user would: each line once the shell has printed a prompt after the marker (or after the previous line),
     * with standard input left open until QEMU exits. Skips the test if the QEMU binary is missing, unless
     * jvmm.requireAll.
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
        Semaphore prompts = new Semaphore(0);
        Thread reader = Thread.ofPlatform().start(() -> {
            // Character by character: the shell's prompt ends no line.
            try (Reader r = new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)) {
                int markerAt = -1, seenTo = -1;
                for (int c; (c = r.read()) != -1; ) {
                    if (c != '\r') log.append((char) c);
                    if (markerAt < 0 && c == '\n' && MARKER.matcher(log).find()) seenTo = markerAt = log.length();
                    // busybox ash's prompt: a line typed before it may be lost while the shell sets its terminal
                    // up, and a whole script typed at once lost its first line on a loaded machine.
                    if (markerAt >= 0 && log.indexOf("# ", seenTo) >= 0) {
                        seenTo = log.length();
                        prompts.release();
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
            prompts.release(Integer.MAX_VALUE / 2);
        });
        // Closing QEMU's standard input early ends its console's input: it stays open until QEMU is done.
        OutputStream console = p.getOutputStream();
        try {
            if (input != null) {
                for (String line : input.split("(?<=\n)")) {
                    if (!prompts.tryAcquire(150, TimeUnit.SECONDS) || !p.isAlive()) break;
                    console.write(line.getBytes(StandardCharsets.UTF_8));
                    console.flush();
                }
            }
            assertTrue(p.waitFor(150, TimeUnit.SECONDS), "QEMU hung:\n" + log);
        } finally {
            try {
                console.close();
            } catch (IOException ignored) {
                // QEMU is gone
            }
        }
        reader.join();
        return new QemuBoot(p.exitValue(), log.toString());
    }
}
