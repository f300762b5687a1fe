/*
 * The x86-64 layer of the virtio test guest (virtio_test.c). The guest is a bzImage made with the
 * boot-protocol probe's header and linker script (arch-x86/src/test/probe: header.asm, probe.ld), entered
 * through the 64-bit boot protocol (Documentation/arch/x86/boot.rst) with interrupts off and [0, 4 GiB)
 * identity-mapped, so the virtio-mmio slots in the 32-bit hole are reachable as they are.
 *
 * KVM on the test machines runs this code in its instruction emulator: compile with
 * -mgeneral-regs-only -mno-sse -mno-red-zone (no SSE, which the emulator refuses) and keep loops short.
 */
#define ARCH_NAME "x86_64"

/* X86Layout.virtioMmioBase(n): VIRTIO_MMIO_BASE 0xd000_0000 plus 4 KiB per slot. */
#define VIRTIO_SLOT(n) (0xd0000000UL + (unsigned long) (n) * 0x1000UL)

/*
 * Poll bounds, in rounds. A memory poll round is 5 emulated instructions: 3.5 µs on an idle machine, 9 µs
 * measured under load; a status poll round is an MMIO exit: 11 µs idle, about 20 µs under load. Either
 * bound gives the device seconds (2-9 s) to answer, where it needs microseconds.
 */
#define SPIN_MEMORY 1000000u
#define SPIN_MMIO 200000u

static inline u32 mmio_read32(uptr a) { return *(volatile u32 *) a; }
static inline u8 mmio_read8(uptr a) { return *(volatile u8 *) a; }
static inline void mmio_write32(uptr a, u32 v) { *(volatile u32 *) a = v; }

/* A full barrier without SSE (mfence is SSE2): a locked no-op on the stack. */
static inline void mb(void) { __asm__ volatile("lock; addl $0, (%%rsp)" ::: "memory"); }

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* COM1 (the 8250 at 0x3f8): wait for an empty transmit holding register (LSR bit 5), then send. */
static void arch_putc(char c) {
    while (!(inb(0x3f8 + 5) & 0x20)) {}
    outb(0x3f8, (u8) c);
}

/* The i8042's CPU reset (command 0xfe on port 0x64): jvmm ends the machine with exit code 0. */
static void __attribute__((noreturn)) arch_stop(void) {
    for (;;) outb(0x64, 0xfe);
}

/* header.asm's 64-bit entry calls probe_main (with arguments this guest ignores). */
#define ARCH_ENTRY void probe_main(void)
