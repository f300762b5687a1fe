/*
 * The console echo guest for TerminalTest: a bzImage (the boot-protocol probe's header and linker script,
 * arch-x86/src/test/probe) that prints ECHO-GUEST-UP on COM1, then echoes every byte it receives in upper
 * case, by polling the 8250's line status register. It never stops on its own: the test ends it with Ctrl-A x.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned long long u64;

#define COM1 0x3f8
#define LSR (COM1 + 5)
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void put(u8 c) {
    while (!(inb(LSR) & LSR_THR_EMPTY)) {}
    outb(COM1, c);
}

/* The probe's header.asm calls probe_main; the arguments describe the entry state and are not needed here. */
void probe_main(u64 bp, u64 running_at, u64 rflags, u64 cs, u64 linked_at) {
    for (const char *s = "ECHO-GUEST-UP\r\n"; *s; s++) put((u8) *s);
    for (;;) {
        while (!(inb(LSR) & LSR_DATA_READY)) {}
        u8 c = inb(COM1);
        put(c >= 'a' && c <= 'z' ? (u8) (c - 'a' + 'A') : c);
    }
}
