/*
 * The arm64 layer of the virtio test guest (virtio_test.c). The guest is a flat arm64 Image made with
 * arch-arm64/src/test/guests/virtio_start.S (the Image header, a stack, a call to main) and virtio.ld
 * (linked at 0x4000_0000, Arm64Layout.RAM_BASE), entered at EL1 with the MMU off.
 *
 * Every MMIO access is one LDR/STR of a general register with a plain base register, written in inline
 * assembly so that the compiler cannot pick a form (pair, writeback, SIMD) without a valid instruction
 * syndrome: a hypervisor can only emulate a data abort whose ESR_EL2 has ISV set.
 */
#define ARCH_NAME "aarch64"

/* Arm64Layout.virtioMmioBase(n): VIRTIO_MMIO_BASE 0x0a00_0000 plus 0x200 per transport (QEMU virt's). */
#define VIRTIO_SLOT(n) (0x0a000000UL + (unsigned long) (n) * 0x200UL)

/* Arm64Layout.UART_BASE: the PL011's data register is at offset 0. */
#define PL011 0x09000000UL

/* Poll bounds: hvfsim translates guest code with Unicorn's JIT, so a memory poll is far cheaper than on x86. */
#define SPIN_MEMORY 50000000u
#define SPIN_MMIO 2000000u

static inline u32 mmio_read32(uptr a) { u32 v; __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline u8 mmio_read8(uptr a) { u32 v; __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return (u8) v; }
static inline void mmio_write32(uptr a, u32 v) { __asm__ volatile("str %w0, [%1]" :: "r"(v), "r"(a) : "memory"); }

/* The device is another observer of RAM (virtio 1.2 §2.7.13): order against the inner-shareable domain. */
static inline void mb(void) { __asm__ volatile("dmb ish" ::: "memory"); }

/* jvmm's PL011 never reports a full transmit FIFO (FR.TXFF), so the driver writes the data register directly. */
static void arch_putc(char c) { mmio_write32(PL011, (u8) c); }

/* PSCI SYSTEM_OFF (function 0x8400_0008) through HVC: jvmm ends the machine with exit code 0. */
static void __attribute__((noreturn)) arch_stop(void) {
    register unsigned long x0 __asm__("x0") = 0x84000008UL;
    __asm__ volatile("hvc #0" : "+r"(x0) :: "memory");
    for (;;) {}
}

/* virtio_start.S calls main. */
#define ARCH_ENTRY int main(void)
