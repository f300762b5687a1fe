package org.jvmm.core.platform;

/**
 * A memory-mapped device that the platform must describe to the guest (an ACPI DSDT device, an FDT node).
 *
 * @param kind        what it is, for the description: {@code "virtio-mmio"}
 * @param mmioBase    the guest-physical base of its registers
 * @param mmioLength  the size of its register window
 * @param irq         its interrupt line (GSI on x86, SPI number on arm64)
 */
public record DeviceDescription(String kind, long mmioBase, long mmioLength, int irq) {}
