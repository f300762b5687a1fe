package org.jvmm.core.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.jvmm.core.hypervisor.VcpuExit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JfrExitObserverTest {

    @Test
    void exitsShowUpInARecording(@TempDir Path dir) throws Exception {
        JfrExitObserver jfr = new JfrExitObserver();
        jfr.onExit(5, new VcpuExit.IoOut(0x3f8, 1, 0x41), "before-recording", 0x41, 1);
        Path file = dir.resolve("exits.jfr");
        try (Recording recording = new Recording()) {
            recording.enable(VcpuExitEvent.NAME);
            recording.start();
            jfr.onExit(1, new VcpuExit.MmioWrite(0xd0000050L, 4, 7), "virtio-blk@0xd0000000", 7, 12_345);
            jfr.onExit(0, new VcpuExit.Halt(), "platform", 0, 99);
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("org.jvmm.VcpuExit")).toList();
        assertEquals(2, events.size(), events.toString());
        RecordedEvent write = events.stream().filter(e -> e.getInt("vcpu") == 1).findFirst().orElseThrow();
        assertEquals("mmio-write", write.getString("reason"));
        assertEquals(0xd0000050L, write.getLong("address"));
        assertEquals(4, write.getInt("size"));
        assertEquals(7, write.getLong("value"));
        assertEquals("virtio-blk@0xd0000000", write.getString("device"));
        assertEquals(Duration.ofNanos(12_345), write.getDuration("handlingTime"));
        RecordedEvent halt = events.stream().filter(e -> e.getInt("vcpu") == 0).findFirst().orElseThrow();
        assertEquals("halt", halt.getString("reason"));
        assertEquals(-1, halt.getLong("address"));
    }

    @Test
    void nothingIsRecordedWhileTheEventIsDisabled(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("none.jfr");
        try (Recording recording = new Recording()) {
            recording.disable(VcpuExitEvent.NAME);
            recording.enable("jdk.JVMInformation");
            recording.start();
            new JfrExitObserver().onExit(0, new VcpuExit.Halt(), "platform", 0, 1);
            recording.stop();
            recording.dump(file);
        }
        assertEquals(0, RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals(VcpuExitEvent.NAME)).count());
        Files.deleteIfExists(file);
    }
}
