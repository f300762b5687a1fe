package org.jvmm.loader;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
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

/** BzImage against headers laid out by hand from Documentation/arch/x86/boot.rst. */
class BzImageTest {

    static final int SETUP_SECTS = 3;
    static final int PM_SIZE = 4096;
    static final int HEADER_END = 0x26c; // protocol 2.15 ends with kernel_info_offset at 0x268

    /** A minimal valid protocol-2.15 bzImage: 3 setup sectors, a 4 KiB protected-mode part filled with 0x5a. */
    static byte[] validBzImage() {
        ByteBuffer b = ByteBuffer.allocate((SETUP_SECTS + 1) * 512 + PM_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) SETUP_SECTS);
        b.putInt(0x1f4, PM_SIZE / 16);           // syssize
        b.putShort(0x1fe, (short) 0xaa55);       // boot_flag
        b.put(0x200, (byte) 0xeb);               // jump: short jmp over the header
        b.put(0x201, (byte) (HEADER_END - 0x202));
        b.put(0x202, (byte) 'H').put(0x203, (byte) 'd').put(0x204, (byte) 'r').put(0x205, (byte) 'S');
        b.putShort(0x206, (short) 0x020f);       // version 2.15
        b.put(0x211, (byte) 0x01);               // loadflags: LOADED_HIGH
        b.putInt(0x22c, 0x7fffffff);             // initrd_addr_max
        b.putInt(0x230, 0x200000);               // kernel_alignment
        b.put(0x234, (byte) 1);                  // relocatable_kernel
        b.putShort(0x236, (short) 0x7f);         // xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G | …
        b.putInt(0x238, 2048);                   // cmdline_size
        b.putLong(0x258, 0x1000000);             // pref_address
        b.putInt(0x248, 0x100);                  // payload_offset, into the protected-mode kernel
        b.putInt(0x24c, 0xe00);                  // payload_length
        b.putInt(0x260, 0x2000000);              // init_size
        byte[] file = b.array();
        Arrays.fill(file, (SETUP_SECTS + 1) * 512, file.length, (byte) 0x5a);
        return file;
    }

    @Test
    void readsEveryFieldOfAValidHeader() {
        BzImage k = BzImage.parse("k", validBzImage());
        assertEquals(0x020f, k.protocolVersion());
        assertEquals("2.15", k.protocolVersionString());
        assertEquals(SETUP_SECTS, k.setupSects());
        assertEquals(0x01, k.loadflags());
        assertEquals(0x7f, k.xloadflags());
        assertTrue(k.canBeLoadedAbove4G());
        assertEquals(0x1000000, k.prefAddress());
        assertEquals(0x2000000, k.initSize());
        assertEquals(0x200000, k.kernelAlignment());
        assertTrue(k.relocatableKernel());
        assertEquals(2048, k.cmdlineSize());
        assertEquals(0x7fffffff, k.initrdAddrMax());
        assertEquals(0x100, k.payloadOffset());
        assertEquals(0xe00, k.payloadLength());
        byte[] pm = new byte[PM_SIZE];
        Arrays.fill(pm, (byte) 0x5a);
        assertArrayEquals(pm, k.protectedModeKernel());
        assertEquals(PM_SIZE, k.protectedModeKernelSize());
    }

    @Test
    void setupHeaderIsTheFileBytesFrom0x1f1ToTheJumpTarget() {
        byte[] file = validBzImage();
        byte[] header = BzImage.parse("k", file).setupHeader();
        assertEquals(HEADER_END - 0x1f1, header.length);
        assertArrayEquals(Arrays.copyOfRange(file, 0x1f1, HEADER_END), header);
        assertEquals((byte) 0x55, header[0x1fe - 0x1f1]);
    }

    @Test
    void zeroSetupSectsMeansFour() {
        // Move the protected-mode part to where four setup sectors put it.
        byte[] file = Arrays.copyOf(validBzImage(), 5 * 512 + PM_SIZE);
        Arrays.fill(file, 4 * 512, 5 * 512, (byte) 0);
        Arrays.fill(file, 5 * 512, file.length, (byte) 0x5a);
        file[0x1f1] = 0;
        BzImage k = BzImage.parse("k", file);
        assertEquals(4, k.setupSects());
        assertEquals(PM_SIZE, k.protectedModeKernelSize());
    }

    @Test
    void accessorsReturnCopies() {
        BzImage k = BzImage.parse("k", validBzImage());
        k.protectedModeKernel()[0] = 1;
        k.setupHeader()[0] = 1;
        assertEquals(0x5a, k.protectedModeKernel()[0]);
        assertEquals(SETUP_SECTS, k.setupHeader()[0]);
    }

    @Test
    void rejectsAnOldProtocolWithASentenceAboutAge() {
        byte[] file = validBzImage();
        file[0x206] = 0x0b; // 2.11
        var e = assertThrows(ConfigurationException.class, () -> BzImage.parse("old", file));
        assertTrue(e.getMessage().contains("too old for 64-bit direct boot"), e.getMessage());
        assertTrue(e.getMessage().startsWith("old "));
    }

    @Test
    void rejectsA32BitOnlyKernel() {
        byte[] file = validBzImage();
        file[0x236] = 0x02;
        assertTrue(assertThrows(ConfigurationException.class, () -> BzImage.parse("k", file)).getMessage()
                .contains("XLF_KERNEL_64"));
    }

    @Test
    void rejectsBadMagicBootFlagAndLoadflags() {
        for (int[] poke : List.of(new int[]{0x202, 'h'}, new int[]{0x1fe, 0}, new int[]{0x211, 0},
                new int[]{0x201, 0x10}, new int[]{0x230, 3}, new int[]{0x24d, 0x10})) {
            byte[] file = validBzImage();
            file[poke[0]] = (byte) poke[1];
            var e = assertThrows(ConfigurationException.class, () -> KernelImage.parse("bad", file),
                    "poke at 0x" + Integer.toHexString(poke[0]));
            assertTrue(e.getMessage().endsWith("pass a bzImage, an ELF vmlinux or an arm64 Image."), e.getMessage());
        }
    }

    @Test
    void rejectsATruncatedFile() {
        byte[] file = validBzImage();
        for (int len : new int[]{0, 0x1f0, 0x203, 0x250, (SETUP_SECTS + 1) * 512, file.length - 1}) {
            byte[] cut = Arrays.copyOf(file, len);
            var e = assertThrows(ConfigurationException.class, () -> KernelImage.parse("cut", cut), "length " + len);
            assertTrue(e.getMessage().startsWith("cut is not a Linux kernel: "), e.getMessage());
        }
    }

    @Test
    void sniffedAsBzImage() {
        assertInstanceOf(BzImage.class, KernelImage.parse("k", validBzImage()));
    }

    @Property(tries = 10_000)
    void randomBytesOnlyEverGiveAConfigurationException(@ForAll @Size(max = 3000) byte[] junk,
                                                        @ForAll boolean withMagic) {
        if (withMagic && junk.length >= 0x206) {
            junk[0x202] = 'H'; junk[0x203] = 'd'; junk[0x204] = 'r'; junk[0x205] = 'S';
        }
        parseExpectingOnlyConfigurationException(junk);
    }

    @Property(tries = 10_000)
    void mutatedValidHeadersOnlyEverGiveAConfigurationException(@ForAll("mutations") List<int[]> pokes,
                                                                @ForAll("lengths") int length) {
        byte[] file = Arrays.copyOf(validBzImage(), length);
        for (int[] poke : pokes) {
            if (poke[0] < file.length) file[poke[0]] = (byte) poke[1];
        }
        parseExpectingOnlyConfigurationException(file);
    }

    @Provide
    Arbitrary<List<int[]>> mutations() {
        // Pokes concentrated on the header (0x1f0–0x270), where every field lives.
        Arbitrary<Integer> where = Arbitraries.oneOf(Arbitraries.integers().between(0x1f0, 0x270),
                Arbitraries.integers().between(0, (SETUP_SECTS + 1) * 512 + PM_SIZE));
        Arbitrary<Integer> value = Arbitraries.oneOf(Arbitraries.integers().between(0, 255),
                Arbitraries.of(0, 0xff, 0x80, 0x7f, 1));
        return net.jqwik.api.Combinators.combine(where, value).as((w, v) -> new int[]{w, v}).list().ofMaxSize(8);
    }

    @Provide
    Arbitrary<Integer> lengths() {
        int full = (SETUP_SECTS + 1) * 512 + PM_SIZE;
        return Arbitraries.oneOf(Arbitraries.just(full), Arbitraries.integers().between(0, full + 64));
    }

    static void parseExpectingOnlyConfigurationException(byte[] file) {
        try {
            KernelImage.parse("fuzz", file);
        } catch (ConfigurationException expected) {
            assertFalse(expected.getMessage().isBlank());
        }
    }
}
