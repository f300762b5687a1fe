/*
 * A freestanding arm64 virtio-mmio driver guest (virtio 1.2 §4.2.3 initialisation, §2.7 split virtqueues,
 * §5.2 block, §5.3 console), the arm64 counterpart of devices-virtio's blk-pvh.asm. It polls used rings (with
 * a bound, so it never hangs) instead of taking interrupts, and reports "VIRTIO: ok <check>" or
 * "VIRTIO: FAIL <check>" per check and "VIRTIO: PASS"/"VIRTIO: FAIL" at the end on the PL011 (0x09000000).
 * Slot 0 (0x0a000000) is virtio-blk, slot 1 (0x0a000200) virtio-console. Checks:
 *   blk: identify, features (VERSION_1 and FLUSH offered), write sector 1 with a pattern, flush, read it back,
 *        read the last sector (OK) and two sectors from the last one (IOERR);
 *   console: identify, transmit a line, receive what the host typed and echo it.
 * All MMIO goes through single-register LDR/STR (inline assembly), which give the hypervisor a syndrome.
 */
#include <stdint.h>

#define UART 0x09000000UL
#define BLK 0x0a000000UL
#define CON 0x0a000200UL
#define SECTORS 64
#define QSIZE 8
#define SPIN 20000000

static inline void w32(uintptr_t a, uint32_t v) { __asm__ volatile("str %w0, [%1]" :: "r"(v), "r"(a) : "memory"); }
static inline uint32_t r32(uintptr_t a) { uint32_t v; __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline uint8_t r8(uintptr_t a) { uint32_t v; __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline void barrier(void) { __asm__ volatile("dmb ish" ::: "memory"); }

static void putc_(char c) { w32(UART, (uint8_t)c); }
static void puts_(const char *s) { while (*s) putc_(*s++); }

static int failures;
static void check(int ok, const char *what) {
    puts_(ok ? "VIRTIO: ok " : "VIRTIO: FAIL ");
    puts_(what);
    putc_('\n');
    if (!ok) failures++;
}

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct queue {
    volatile struct desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[QSIZE] */
    volatile uint16_t *used;  /* flags, idx, then {u32 id, u32 len}[QSIZE] */
    uint16_t next_avail, last_used;
};

/* Queue memory per (device, queue): 16 KiB apart above the guest's stack. */
static struct queue setup_queue(uintptr_t dev, int q, uintptr_t mem) {
    struct queue Q = {(struct desc *)mem, (uint16_t *)(mem + 0x1000), (uint16_t *)(mem + 0x2000), 0, 0};
    for (int i = 0; i < 0x3000; i += 4) *(volatile uint32_t *)(mem + i) = 0;
    w32(dev + 0x030, q);
    w32(dev + 0x038, QSIZE);
    w32(dev + 0x080, (uint32_t)mem);
    w32(dev + 0x084, (uint32_t)(mem >> 32));
    w32(dev + 0x090, (uint32_t)(mem + 0x1000));
    w32(dev + 0x094, (uint32_t)((mem + 0x1000) >> 32));
    w32(dev + 0x0a0, (uint32_t)(mem + 0x2000));
    w32(dev + 0x0a4, (uint32_t)((mem + 0x2000) >> 32));
    w32(dev + 0x044, 1);
    return Q;
}

/* Status handshake up to FEATURES_OK with VERSION_1 plus `low` (feature bits 0-31). Returns 1 if accepted. */
static int negotiate(uintptr_t dev, uint32_t low) {
    w32(dev + 0x070, 0);
    w32(dev + 0x070, 1);
    w32(dev + 0x070, 1 | 2);
    w32(dev + 0x024, 0);
    w32(dev + 0x020, low);
    w32(dev + 0x024, 1);
    w32(dev + 0x020, 1); /* VIRTIO_F_VERSION_1 = bit 32 */
    w32(dev + 0x070, 1 | 2 | 8);
    return (r32(dev + 0x070) & 8) != 0;
}

/* Offers a chain of n buffers and waits for the device to use it. Returns 1 when used in time. */
static int submit(uintptr_t dev, int q, struct queue *Q, int n, const uint64_t *addr, const uint32_t *len, const int *writable) {
    for (int i = 0; i < n; i++) {
        Q->desc[i].addr = addr[i];
        Q->desc[i].len = len[i];
        Q->desc[i].flags = (i + 1 < n ? 1 : 0) | (writable[i] ? 2 : 0);
        Q->desc[i].next = i + 1 < n ? i + 1 : 0;
    }
    Q->avail[2 + Q->next_avail % QSIZE] = 0;
    barrier();
    Q->next_avail++;
    Q->avail[1] = Q->next_avail;
    barrier();
    w32(dev + 0x050, q);
    for (int spin = 0; spin < SPIN; spin++) {
        barrier();
        if (Q->used[1] != Q->last_used) {
            Q->last_used++;
            return 1;
        }
    }
    return 0;
}

#define HEADER 0x40200000UL
#define STATUS 0x40200100UL
#define WBUF 0x40201000UL
#define RBUF 0x40202000UL
#define TXBUF 0x40203000UL
#define RXBUF 0x40204000UL

static int blk_request(struct queue *Q, uint32_t type, uint64_t sector, uintptr_t buf, uint32_t bytes, int to_device) {
    volatile uint32_t *h = (uint32_t *)HEADER;
    h[0] = type;
    h[1] = 0;
    *(volatile uint64_t *)(HEADER + 8) = sector;
    *(volatile uint8_t *)STATUS = 0xff;
    uint64_t addr[3] = {HEADER, buf, STATUS};
    uint32_t len[3] = {16, bytes, 1};
    int wr[3] = {0, !to_device, 1};
    if (bytes == 0) {
        addr[1] = STATUS; len[1] = 1; wr[1] = 1;
        if (!submit(BLK, 0, Q, 2, addr, len, wr)) return -1;
    } else if (!submit(BLK, 0, Q, 3, addr, len, wr)) {
        return -1;
    }
    return r8(STATUS);
}

static void blk(void) {
    check(r32(BLK) == 0x74726976 && r32(BLK + 4) == 2 && r32(BLK + 8) == 2, "blk identify");
    w32(BLK + 0x014, 1);
    int v1 = r32(BLK + 0x010) & 1;
    w32(BLK + 0x014, 0);
    int flush = (r32(BLK + 0x010) >> 9) & 1;
    check(v1 && flush, "blk features");
    check(negotiate(BLK, 1u << 9), "blk features accepted");
    check(r32(BLK + 0x100) == SECTORS && r32(BLK + 0x104) == 0, "blk capacity");
    struct queue Q = setup_queue(BLK, 0, 0x40110000UL);
    w32(BLK + 0x070, 1 | 2 | 8 | 4);

    for (int i = 0; i < 512; i++) *(volatile uint8_t *)(WBUF + i) = (uint8_t)(i * 7 + 3);
    check(blk_request(&Q, 1, 1, WBUF, 512, 1) == 0, "blk write sector 1");
    check(blk_request(&Q, 4, 0, 0, 0, 1) == 0, "blk flush");
    for (int i = 0; i < 512; i++) *(volatile uint8_t *)(RBUF + i) = 0;
    check(blk_request(&Q, 0, 1, RBUF, 512, 0) == 0, "blk read sector 1");
    int same = 1;
    for (int i = 0; i < 512; i++) same &= *(volatile uint8_t *)(RBUF + i) == (uint8_t)(i * 7 + 3);
    check(same, "blk read back equals written");
    check(blk_request(&Q, 0, SECTORS - 1, RBUF, 512, 0) == 0, "blk read last sector");
    check(blk_request(&Q, 0, SECTORS - 1, RBUF, 1024, 0) == 1, "blk read past the end is IOERR");
    w32(BLK + 0x070, 0);
}

static void console(void) {
    check(r32(CON) == 0x74726976 && r32(CON + 8) == 3, "console identify");
    check(negotiate(CON, 0), "console features accepted");
    struct queue rx = setup_queue(CON, 0, 0x40120000UL);
    struct queue tx = setup_queue(CON, 1, 0x40130000UL);
    w32(CON + 0x070, 1 | 2 | 8 | 4);

    const char *line = "hello from arm64\n";
    int n = 0;
    while (line[n]) { *(volatile char *)(TXBUF + n) = line[n]; n++; }
    uint64_t a = TXBUF; uint32_t l = n; int wr = 0;
    check(submit(CON, 1, &tx, 1, &a, &l, &wr), "console transmit");

    uint64_t ra = RXBUF; uint32_t rl = 64; int rw = 1;
    int got = submit(CON, 0, &rx, 1, &ra, &rl, &rw);
    uint32_t used_len = got ? ((volatile uint32_t *)(rx.used + 2))[1] : 0; /* used ring entry 0: {id, len} */
    check(got && used_len > 0 && used_len <= 64, "console receive");
    /* Echo what arrived, prefixed, through the transmit queue. */
    const char *pre = "echo: ";
    n = 0;
    while (pre[n]) { *(volatile char *)(TXBUF + n) = pre[n]; n++; }
    for (uint32_t i = 0; i < used_len; i++) *(volatile char *)(TXBUF + n + i) = *(volatile char *)(RXBUF + i);
    l = n + used_len;
    check(submit(CON, 1, &tx, 1, &a, &l, &wr), "console echo");
    w32(CON + 0x070, 0);
}

void main(void) {
    puts_("VIRTIO: start\n");
    blk();
    console();
    puts_(failures ? "VIRTIO: FAIL\n" : "VIRTIO: PASS\n");
}
