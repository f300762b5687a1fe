package org.jvmm.loader;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;
import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** Arm64Image against headers laid out by hand from Documentation/arch/arm64/booting.rst. */
class Arm64ImageTest {

    static byte[] image(long textOffset, long imageSize, long flags, int length) {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x91005a4d);                 // code0: the "MZ" add of an EFI-capable kernel
        b.putInt(4, 0x14000000);                 // code1: branch
        b.putLong(8, textOffset).putLong(16, imageSize).putLong(24, flags);
        b.put(0x38, (byte) 'A').put(0x39, (byte) 'R').put(0x3a, (byte) 'M').put(0x3b, (byte) 0x64);
        return b.array();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream z = new GZIPOutputStream(out)) { z.write(data); }
        return out.toByteArray();
    }

    @Test
    void readsARawImage() {
        byte[] raw = image(0, 0x20000, 0b1010, 4096);
        Arm64Image k = (Arm64Image) KernelImage.parse("Image", raw);
        assertEquals(0, k.textOffset());
        assertEquals(0x20000, k.imageSize());
        assertEquals(0x20000, k.loadSize());
        assertEquals(4096, k.pageSize());
        assertTrue(k.placementAnywhere());
        assertFalse(k.bigEndian());
        assertFalse(k.compressed());
        assertArrayEquals(raw, k.image());
    }

    @Test
    void inflatesAGzipImage() throws IOException {
        byte[] raw = image(0, 0x20000, 0b0110, 8192);
        Arm64Image k = (Arm64Image) KernelImage.parse("Image.gz", gzip(raw));
        assertTrue(k.compressed());
        assertEquals(65536, k.pageSize());
        assertArrayEquals(raw, k.image());
    }

    /** An EFI zboot file laid out from zboot-header.S: "MZ", "zimg", payload offset and size, compression name. */
    static byte[] zboot(byte[] payload, String compression) {
        ByteBuffer b = ByteBuffer.allocate(0x200 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, (byte) 'M').put(1, (byte) 'Z').put(2, (byte) 'z').put(3, (byte) 'i').put(4, (byte) 'm').put(5, (byte) 'g');
        b.putInt(8, 0x200).putInt(12, payload.length);
        b.put(24, compression.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        b.put(0x200, payload);
        return b.array();
    }

    @Test
    void inflatesTheGzipPayloadOfAnEfiZbootImage() throws IOException {
        byte[] raw = image(0, 0x20000, 0b0010, 8192);
        Arm64Image k = (Arm64Image) KernelImage.parse("vmlinuz.efi", zboot(gzip(raw), "gzip"));
        assertTrue(k.compressed());
        assertArrayEquals(raw, k.image());
        var e = assertThrows(ConfigurationException.class, () -> KernelImage.parse("z", zboot(new byte[64], "zstd")));
        assertTrue(e.getMessage().contains("zstd"), e.getMessage());
        byte[] lying = zboot(gzip(raw), "gzip");
        lying[13] = 0x7f; // payload size far past the end
        assertThrows(ConfigurationException.class, () -> KernelImage.parse("z", lying));
    }

    @Test
    void zeroImageSizeMeansTheLegacyTextOffset() {
        Arm64Image k = Arm64Image.parse("old", image(0x1234, 0, 0, 4096));
        assertEquals(0x80000, k.textOffset());
        assertEquals(4096, k.loadSize());
    }

    @Test
    void rejectsBadImages() throws IOException {
        byte[][] bad = {
                Arrays.copyOf(image(0, 0x20000, 0, 4096), 63),
                image(0x200000, 0x20000, 0, 4096),
                image(0, 100, 0, 4096),
                gzip(new byte[100]),
                Arrays.copyOf(gzip(image(0, 0x20000, 0, 4096)), 20),
                {0x1f, (byte) 0x8b, 8, 0, 0, 0},
        };
        for (byte[] b : bad) {
            var e = assertThrows(ConfigurationException.class, () -> KernelImage.parse("x", b));
            assertTrue(e.getMessage().startsWith("x is not a Linux kernel: "), e.getMessage());
        }
    }

    @Property(tries = 2_000)
    void randomGzipTailsOnlyEverGiveAConfigurationException(@ForAll @Size(max = 300) byte[] junk) {
        byte[] file = new byte[2 + junk.length];
        file[0] = 0x1f;
        file[1] = (byte) 0x8b;
        System.arraycopy(junk, 0, file, 2, junk.length);
        BzImageTest.parseExpectingOnlyConfigurationException(file);
    }

    @Property(tries = 2_000)
    void randomZbootHeadersOnlyEverGiveAConfigurationException(@ForAll @Size(max = 100) byte[] junk) {
        byte[] file = Arrays.copyOf(new byte[]{'M', 'Z', 'z', 'i', 'm', 'g'}, 6 + junk.length);
        System.arraycopy(junk, 0, file, 6, junk.length);
        if (file.length > 28) { file[24] = 'g'; file[25] = 'z'; file[26] = 'i'; file[27] = 'p'; }
        BzImageTest.parseExpectingOnlyConfigurationException(file);
    }

    @Property(tries = 2_000)
    void randomHeadersWithTheMagicOnlyEverGiveAConfigurationException(@ForAll @Size(min = 0, max = 200) byte[] junk) {
        if (junk.length >= 0x3c) {
            junk[0x38] = 'A'; junk[0x39] = 'R'; junk[0x3a] = 'M'; junk[0x3b] = 0x64;
        }
        BzImageTest.parseExpectingOnlyConfigurationException(junk);
    }
}
