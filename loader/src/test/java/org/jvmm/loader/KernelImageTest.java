package org.jvmm.loader;

import org.jvmm.core.ConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class KernelImageTest {

    @Test
    void readsAndSniffsFiles(@TempDir Path dir) throws IOException {
        Path bz = Files.write(dir.resolve("vmlinuz"), BzImageTest.validBzImage());
        Path elf = Files.write(dir.resolve("bzImage"), ElfKernelTest.elf(4)); // misleading name: content decides
        assertInstanceOf(BzImage.class, KernelImage.read(bz));
        assertInstanceOf(ElfKernel.class, KernelImage.read(elf));
        assertEquals(bz.toString(), KernelImage.read(bz).name());
    }

    @Test
    void aMissingFileOrATextFileIsOneSentence(@TempDir Path dir) throws IOException {
        var missing = assertThrows(ConfigurationException.class, () -> KernelImage.read(dir.resolve("nope")));
        assertTrue(missing.getMessage().endsWith("."), missing.getMessage());
        Path text = Files.writeString(dir.resolve("README"), "hello");
        var e = assertThrows(ConfigurationException.class, () -> KernelImage.read(text));
        assertEquals(text + " is not a Linux kernel: it has neither an ELF header, a bzImage setup header nor an"
                + " arm64 Image header; pass a bzImage, an ELF vmlinux or an arm64 Image.", e.getMessage());
        assertThrows(ConfigurationException.class, () -> KernelImage.read(dir));
    }
}
