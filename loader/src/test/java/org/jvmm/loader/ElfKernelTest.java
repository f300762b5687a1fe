package org.jvmm.loader;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** ElfKernel against ELF files laid out by hand from the System V gABI (ELF64, x86-64 psABI). */
class ElfKernelTest {

    static final int PHOFF = 64, LOAD_OFFSET = 0x200, LOAD_SIZE = 0x100, NOTE_OFFSET = 0x180;

    /**
     * An ELF64 x86-64 executable: entry 0x1000000, one PT_LOAD (0x100 bytes of 0xcc at file 0x200 → paddr
     * 0x1000000, memsz 0x3000), one PT_NOTE with an unrelated note then a Xen PHYS32_ENTRY note of
     * {@code pvhSize} bytes (0 for no PVH note) holding 0x1000123.
     */
    static byte[] elf(int pvhSize) {
        ByteBuffer b = ByteBuffer.allocate(LOAD_OFFSET + LOAD_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[]{0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
        b.putShort(0x10, (short) 2);        // ET_EXEC
        b.putShort(0x12, (short) 62);       // EM_X86_64
        b.putInt(0x14, 1);
        b.putLong(0x18, 0x1000000);         // e_entry
        b.putLong(0x20, PHOFF);             // e_phoff
        b.putShort(0x34, (short) 64);       // e_ehsize
        b.putShort(0x36, (short) 56);       // e_phentsize
        b.putShort(0x38, (short) 2);        // e_phnum
        // PT_LOAD
        b.putInt(PHOFF, 1).putInt(PHOFF + 4, 5).putLong(PHOFF + 8, LOAD_OFFSET)
                .putLong(PHOFF + 16, 0xffffffff81000000L).putLong(PHOFF + 24, 0x1000000)
                .putLong(PHOFF + 32, LOAD_SIZE).putLong(PHOFF + 40, 0x3000).putLong(PHOFF + 48, 0x200000);
        // Notes: "GNU" build-id-like note (type 3, 4-byte desc), then "Xen" type 18.
        int n = NOTE_OFFSET;
        b.putInt(n, 4).putInt(n + 4, 4).putInt(n + 8, 3).put(n + 12, (byte) 'G').put(n + 13, (byte) 'N').put(n + 14, (byte) 'U');
        b.putInt(n + 16, 0xdeadbeef);
        int noteSize = 20;
        if (pvhSize != 0) {
            int x = n + 20;
            b.putInt(x, 4).putInt(x + 4, pvhSize).putInt(x + 8, 18).put(x + 12, (byte) 'X').put(x + 13, (byte) 'e').put(x + 14, (byte) 'n');
            if (pvhSize == 8) b.putLong(x + 16, 0x1000123); else b.putInt(x + 16, 0x1000123);
            noteSize += 16 + pvhSize;
        }
        int ph2 = PHOFF + 56;
        b.putInt(ph2, 4).putLong(ph2 + 8, NOTE_OFFSET).putLong(ph2 + 32, noteSize).putLong(ph2 + 40, noteSize);
        byte[] file = b.array();
        Arrays.fill(file, LOAD_OFFSET, LOAD_OFFSET + LOAD_SIZE, (byte) 0xcc);
        return file;
    }

    @Test
    void readsSegmentsEntryAndA32BitPvhNote() {
        ElfKernel k = ElfKernel.parse("vmlinux", elf(4));
        assertEquals(0x1000000, k.entry());
        assertEquals(1, k.segments().size());
        ElfKernel.Segment s = k.segments().getFirst();
        assertEquals(0x1000000, s.physicalAddress());
        assertEquals(0x3000, s.memorySize());
        byte[] expected = new byte[LOAD_SIZE];
        Arrays.fill(expected, (byte) 0xcc);
        assertArrayEquals(expected, s.fileBytes());
        assertEquals(0x1000123, k.pvhEntry().orElseThrow());
    }

    @Test
    void readsA64BitPvhNote() {
        assertEquals(0x1000123, ElfKernel.parse("vmlinux", elf(8)).pvhEntry().orElseThrow());
    }

    @Test
    void noPvhNoteMeansEmpty() {
        assertTrue(ElfKernel.parse("vmlinux", elf(0)).pvhEntry().isEmpty());
        assertInstanceOf(ElfKernel.class, KernelImage.parse("vmlinux", elf(0)));
    }

    @Test
    void rejectsWrongClassMachineAndLyingSizes() {
        record Poke(int at, long value, int width) {}
        for (Poke p : List.of(new Poke(4, 1, 1), new Poke(5, 2, 1), new Poke(0x12, 3, 2), new Poke(0x36, 32, 2),
                new Poke(0x20, 0x10000, 8), new Poke(0x38, 200, 2), new Poke(PHOFF + 8, LOAD_OFFSET + 1, 8),
                new Poke(PHOFF + 32, 0x4000, 8), new Poke(PHOFF + 24, -0x1000, 8), new Poke(PHOFF, 6, 4),
                new Poke(PHOFF + 56 + 32, 0x1000, 8), new Poke(NOTE_OFFSET, 0x7fffffff, 4))) {
            ByteBuffer b = ByteBuffer.wrap(elf(4)).order(ByteOrder.LITTLE_ENDIAN);
            switch (p.width) {
                case 1 -> b.put(p.at, (byte) p.value);
                case 2 -> b.putShort(p.at, (short) p.value);
                case 4 -> b.putInt(p.at, (int) p.value);
                default -> b.putLong(p.at, p.value);
            }
            var e = assertThrows(ConfigurationException.class, () -> KernelImage.parse("bad", b.array()), p.toString());
            assertTrue(e.getMessage().startsWith("bad is not a Linux kernel: "), e.getMessage());
        }
    }

    @Test
    void rejectsEveryTruncation() {
        byte[] file = elf(4);
        for (int len = 0; len < file.length; len++) {
            byte[] cut = Arrays.copyOf(file, len);
            assertThrows(ConfigurationException.class, () -> KernelImage.parse("cut", cut), "length " + len);
        }
    }

    @Property(tries = 10_000)
    void randomBytesAfterTheMagicOnlyEverGiveAConfigurationException(@ForAll @Size(max = 1024) byte[] junk) {
        byte[] file = Arrays.copyOf(new byte[]{0x7f, 'E', 'L', 'F', 2, 1, 1}, 7 + junk.length);
        System.arraycopy(junk, 0, file, 7, junk.length);
        BzImageTest.parseExpectingOnlyConfigurationException(file);
    }

    @Property(tries = 10_000)
    void mutatedValidElfOnlyEverGivesAConfigurationException(@ForAll("pokes") List<int[]> pokes,
                                                            @ForAll("lengths") int length) {
        byte[] file = Arrays.copyOf(elf(4), length);
        for (int[] poke : pokes) {
            if (poke[0] < file.length) file[poke[0]] = (byte) poke[1];
        }
        BzImageTest.parseExpectingOnlyConfigurationException(file);
    }

    @Provide
    Arbitrary<List<int[]>> pokes() {
        // Most pokes land on the ELF header, the program headers and the notes.
        Arbitrary<Integer> where = Arbitraries.oneOf(Arbitraries.integers().between(0, PHOFF + 112),
                Arbitraries.integers().between(NOTE_OFFSET, NOTE_OFFSET + 56),
                Arbitraries.integers().between(0, LOAD_OFFSET + LOAD_SIZE));
        Arbitrary<Integer> value = Arbitraries.oneOf(Arbitraries.integers().between(0, 255), Arbitraries.of(0, 0xff, 0x80));
        return Combinators.combine(where, value).as((w, v) -> new int[]{w, v}).list().ofMaxSize(6);
    }

    @Provide
    Arbitrary<Integer> lengths() {
        return Arbitraries.oneOf(Arbitraries.just(LOAD_OFFSET + LOAD_SIZE), Arbitraries.integers().between(0, LOAD_OFFSET + LOAD_SIZE));
    }
}
