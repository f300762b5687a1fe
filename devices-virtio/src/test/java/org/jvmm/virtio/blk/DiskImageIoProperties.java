package org.jvmm.virtio.blk;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.jvmm.core.sys.SysException;
import org.jvmm.core.sys.linux.Errno;
import org.junit.jupiter.api.Test;

/**
 * The libc I/O loops of a {@link DiskImage} (pread/pwrite/data sync/hole punching on one descriptor)
 * against a file that answers the way the kernel may: fewer bytes than asked and EINTR, in any order.
 * Whatever the schedule, a write puts exactly the caller's bytes at exactly their place, a read returns
 * exactly the file's bytes, and nothing loops forever; real errors, the end of the file and a write
 * that makes no progress are IOExceptions.
 */
class DiskImageIoProperties {

    /** One answer of the simulated kernel to one call: EINTR, or at most {@code bytes} transferred (0 = all asked). */
    record Answer(boolean eintr, int bytes) {}

    /**
     * A file of {@code bytes} whose calls follow {@code script} in turn (then full transfers): the
     * kernel's freedom. It counts the calls so a test can see the loops ended.
     */
    static class ScriptedFile implements FileCalls {
        final byte[] bytes;
        final List<Answer> script;
        int next, calls, syncs, punches;
        int failWith; // an errno for every call, 0 for none

        ScriptedFile(byte[] bytes, List<Answer> script) {
            this.bytes = bytes;
            this.script = script;
        }

        private long grant(long asked) {
            calls++;
            if (failWith != 0) throw new SysException("scripted", failWith, Errno.name(failWith), "scripted");
            Answer a = next < script.size() ? script.get(next++) : new Answer(false, 0);
            if (a.eintr()) throw new SysException("scripted", Errno.EINTR, "EINTR", "Interrupted system call");
            return a.bytes() == 0 ? asked : Math.min(asked, a.bytes());
        }

        @Override
        public long pread(int fd, MemorySegment buffer, long offset) {
            assertTrue(buffer.isNative(), "libc is handed native memory only");
            long n = grant(buffer.byteSize());
            n = Math.max(0, Math.min(n, bytes.length - offset));
            MemorySegment.copy(bytes, (int) offset, buffer, ValueLayout.JAVA_BYTE, 0, (int) n);
            return n;
        }

        @Override
        public long pwrite(int fd, MemorySegment buffer, long offset) {
            assertTrue(buffer.isNative(), "libc is handed native memory only");
            long n = grant(buffer.byteSize());
            MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, bytes, (int) offset, (int) n);
            return n;
        }

        @Override
        public void syncData(int fd) {
            grant(0);
            syncs++;
        }

        @Override
        public boolean canPunchHoles() {
            return true;
        }

        @Override
        public void punchHole(int fd, long offset, long length) {
            grant(0);
            punches++;
            Arrays.fill(bytes, (int) offset, (int) (offset + length), (byte) 0);
        }
    }

    private static final int FILE = 64 * 1024;

    @Provide
    Arbitrary<List<Answer>> schedules() {
        Arbitrary<Answer> answer = Arbitraries.oneOf(
                Arbitraries.just(new Answer(true, 0)),
                Arbitraries.integers().between(1, 4096).map(n -> new Answer(false, n)),
                Arbitraries.just(new Answer(false, 0)));
        return answer.list().ofMaxSize(64);
    }

    private static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (i * 31 + seed);
        return b;
    }

    @Property(tries = 300)
    void aWriteLandsExactlyWhateverTheKernelTransfersPerCall(@ForAll("schedules") List<Answer> schedule,
                                                            @ForAll @IntRange(min = 0, max = FILE - 1) int position,
                                                            @ForAll @IntRange(min = 1, max = 20_000) int length,
                                                            @ForAll boolean heap) throws IOException {
        length = Math.min(length, FILE - position);
        byte[] file = pattern(FILE, 7);
        byte[] expected = file.clone();
        byte[] data = pattern(length, 101);
        System.arraycopy(data, 0, expected, position, length);
        ScriptedFile kernel = new ScriptedFile(file, schedule);
        DiskImage image = DiskImage.onDescriptor(3, Path.of("scripted.img"), false, FILE, kernel);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = heap ? MemorySegment.ofArray(data) : a.allocate(length).copyFrom(MemorySegment.ofArray(data));
            image.write(position, src);
        }
        assertArrayEquals(expected, file);
        assertTrue(kernel.calls <= schedule.size() + 1, "one call per scripted answer, then one that does the rest");
    }

    @Property(tries = 300)
    void aReadReturnsExactlyTheFilesBytesWhateverTheKernelTransfersPerCall(@ForAll("schedules") List<Answer> schedule,
                                                                          @ForAll @IntRange(min = 0, max = FILE - 1) int position,
                                                                          @ForAll @IntRange(min = 1, max = 20_000) int length,
                                                                          @ForAll boolean heap) throws IOException {
        length = Math.min(length, FILE - position);
        byte[] file = pattern(FILE, 3);
        ScriptedFile kernel = new ScriptedFile(file, schedule);
        DiskImage image = DiskImage.onDescriptor(3, Path.of("scripted.img"), false, FILE, kernel);
        byte[] got;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment dst = heap ? MemorySegment.ofArray(new byte[length]) : a.allocate(length);
            image.read(position, dst);
            got = dst.toArray(ValueLayout.JAVA_BYTE);
        }
        assertArrayEquals(Arrays.copyOfRange(file, position, position + length), got);
    }

    @Property(tries = 100)
    void flushAndDiscardAreRetriedAfterEintrAndDoneOnce(@ForAll @IntRange(min = 0, max = 5) int interrupts) throws IOException {
        List<Answer> schedule = new ArrayList<>();
        for (int i = 0; i < interrupts; i++) schedule.add(new Answer(true, 0));
        byte[] file = pattern(FILE, 9);
        ScriptedFile kernel = new ScriptedFile(file, schedule);
        DiskImage image = DiskImage.onDescriptor(3, Path.of("scripted.img"), false, FILE, kernel);
        image.flush();
        image.discard(4096, 8192);
        assertEquals(1, kernel.syncs);
        assertEquals(1, kernel.punches);
        assertEquals(interrupts + 2, kernel.calls);
        byte[] expected = pattern(FILE, 9);
        Arrays.fill(expected, 4096, 4096 + 8192, (byte) 0);
        assertArrayEquals(expected, file);
    }

    @Test
    void readingPastTheEndOfTheFileIsAnErrorNotALoop() {
        ScriptedFile kernel = new ScriptedFile(new byte[1024], List.of());
        DiskImage image = DiskImage.onDescriptor(3, Path.of("short.img"), false, 4096, kernel);
        try (Arena a = Arena.ofConfined()) {
            IOException e = assertThrows(IOException.class, () -> image.read(512, a.allocate(1024)));
            assertEquals("short.img ended at 1024", e.getMessage());
        }
    }

    @Test
    void aWriteThatMakesNoProgressIsAnErrorNotALoop() {
        ScriptedFile kernel = new ScriptedFile(new byte[4096], List.of()) {
            @Override public long pwrite(int fd, MemorySegment buffer, long offset) { calls++; return 0; }
        };
        DiskImage image = DiskImage.onDescriptor(3, Path.of("stuck.img"), false, 4096, kernel);
        try (Arena a = Arena.ofConfined()) {
            IOException e = assertThrows(IOException.class, () -> image.write(0, a.allocate(512)));
            assertTrue(e.getMessage().contains("pwrite returned 0"), e.getMessage());
            assertEquals(1, kernel.calls);
        }
    }

    @Test
    void aRealErrorIsAnIoExceptionNamingTheImage() {
        ScriptedFile kernel = new ScriptedFile(new byte[4096], List.of());
        kernel.failWith = Errno.EIO;
        DiskImage image = DiskImage.onDescriptor(3, Path.of("broken.img"), false, 4096, kernel);
        try (Arena a = Arena.ofConfined()) {
            for (var op : List.<IoCall>of(() -> image.read(0, a.allocate(512)), () -> image.write(0, a.allocate(512)), image::flush)) {
                IOException e = assertThrows(IOException.class, op::run);
                assertTrue(e.getMessage().startsWith("broken.img: "), e.getMessage());
                assertInstanceOf(SysException.class, e.getCause());
            }
        }
    }

    @Test
    void aFileSystemThatCannotPunchHolesGetsZeroesWritten() throws IOException {
        byte[] file = pattern(FILE, 5);
        ScriptedFile kernel = new ScriptedFile(file, List.of()) {
            @Override public void punchHole(int fd, long offset, long length) {
                throw new SysException("fallocate", 95, "EOPNOTSUPP", "Operation not supported");
            }
        };
        DiskImage image = DiskImage.onDescriptor(3, Path.of("nohole.img"), false, FILE, kernel);
        image.discard(1000, 30_000);
        byte[] expected = pattern(FILE, 5);
        Arrays.fill(expected, 1000, 31_000, (byte) 0);
        assertArrayEquals(expected, file);
    }

    @Test
    void aHostThatCannotPunchHolesIsNeverAskedToAndItsDiscardWritesZeroes() throws IOException {
        byte[] file = pattern(FILE, 6);
        byte[] expected = file.clone();
        Arrays.fill(expected, 2048, 42_048, (byte) 0);
        ScriptedFile kernel = new ScriptedFile(file, List.of()) {
            @Override public boolean canPunchHoles() { return false; }
            @Override public void punchHole(int fd, long offset, long length) { fail("punchHole on a host that has none"); }
        };
        DiskImage image = DiskImage.onDescriptor(3, Path.of("mac.img"), false, FILE, kernel);
        assertFalse(image.discardFreesSpace());
        image.discard(2048, 40_000);
        assertArrayEquals(expected, file);
        assertEquals(0, kernel.punches);
    }

    @Test
    void onlyAWritableImageOnAHostThatPunchesHolesSaysDiscardFreesSpace() {
        assertTrue(DiskImage.onDescriptor(3, Path.of("rw.img"), false, FILE, new ScriptedFile(new byte[FILE], List.of())).discardFreesSpace());
        assertFalse(DiskImage.onDescriptor(3, Path.of("ro.img"), true, FILE, new ScriptedFile(new byte[FILE], List.of())).discardFreesSpace());
    }

    interface IoCall {
        void run() throws IOException;
    }
}
