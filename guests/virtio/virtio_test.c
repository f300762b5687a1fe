/*
 * The virtio test guest: one freestanding C program with a minimal virtio-mmio 1.x driver (virtio 1.2
 * §3.1.1 initialisation, §4.2 virtio-mmio, §2.7 split virtqueues, §5.2 block, §5.3 console), built for
 * x86-64 by devices-virtio's VirtioGuestKvmTest (run on the direct KVM) and for arm64 by arch-arm64's
 * HvfVirtioTest (run on hvfsim). Everything architectural is in arch_x86_64.h / arch_aarch64.h: where the
 * virtio-mmio slots are, how MMIO and barriers are written, the UART, how the machine is stopped.
 *
 * It lives in guests/ at the repository root because both modules' tests compile it, and neither module's
 * test sources may depend on the other's (arch-arm64 depends on devices-virtio's code, not its tests).
 *
 * The machine: slot 0 is virtio-blk on a 64-sector test disk, slot 1 virtio-console, whose input the host
 * fills with HOST_LINE. Each check prints "VIRTIO: ok <name>" or "VIRTIO: FAIL <name>" on the UART; the
 * host compares the whole list with its own. The end is "VIRTIO: PASS" or "VIRTIO: FAIL", then the guest
 * stops the machine. Checks, in order:
 *   blk: negotiation and capacity; write sector 1, flush, read it back; write sectors 2-7 as six segments
 *        (a chain of 8 descriptors, as long as the queue allows) and read them back as one; read the last
 *        sector; read and write past the end (IOERR each, and the last sector is unchanged, which the host
 *        checks in the file too);
 *   broken rings, each of which must put the device in DEVICE_NEEDS_RESET with a configuration-change
 *        interrupt while the machine runs on, after which the driver resets it and sets it up again: a
 *        descriptor loop, a buffer outside RAM, a chain longer than the queue, an available index too far
 *        ahead, an available head outside the table; then the device still reads sector 1 back;
 *   console: a receive buffer outside RAM (NEEDS_RESET and recovery as above), then transmit a line, receive
 *        HOST_LINE byte for byte (it must have survived the reset), transmit it back behind "echo: ".
 * The driver polls used rings and the status register, with bounds, instead of taking interrupts: a device
 * that never answers fails a check instead of hanging the guest.
 *
 * The peers variant (-DVIRTIO_PEERS, x86-64; the sandbox module's VirtiofsKvmTest, expected lines in
 * checks-peers.txt) drives back-ends jvmm did not write, through jvmm's vhost-user front-end: slot 0 is
 * qemu-storage-daemon's vhost-user-blk export of the 64-sector disk, slot 1 virtio-fs served by virtiofsd
 * (virtio_fs.h). It runs the blk checks without the broken rings (libvhost-user answers a broken ring by
 * dropping the connection, which leaves the device lost for good, by design) and then the fs checks.
 *
 * The benchmark variant (-DVIRTIO_BENCH -DQSIZE=32, x86-64; virtio_bench.h, the sandbox module's
 * BlkKvmBenchmark) times 4 KiB reads from slot 0's disk instead of checking anything.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long uptr;

#if defined(__x86_64__)
#include "arch_x86_64.h"
#elif defined(__aarch64__)
#include "arch_aarch64.h"
#else
#error "the virtio test guest has no layer for this architecture"
#endif

/* virtio-mmio version 2 registers (§4.2.2). */
#define MAGIC 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define DEVICE_FEATURES 0x010
#define DEVICE_FEATURES_SEL 0x014
#define DRIVER_FEATURES 0x020
#define DRIVER_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define INTERRUPT_STATUS 0x060
#define INTERRUPT_ACK 0x064
#define STATUS 0x070
#define QUEUE_DESC_LOW 0x080
#define QUEUE_DESC_HIGH 0x084
#define QUEUE_DRIVER_LOW 0x090
#define QUEUE_DRIVER_HIGH 0x094
#define QUEUE_DEVICE_LOW 0x0a0
#define QUEUE_DEVICE_HIGH 0x0a4
#define CONFIG 0x100

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64
#define S_RUNNING (S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)
#define INT_CONFIG 2 /* InterruptStatus: the configuration changed (here: DEVICE_NEEDS_RESET was set) */

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

#define BLK_ID 2
#define BLK_F_FLUSH 9
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define CONSOLE_ID 3

#ifndef QSIZE
#define QSIZE 8 /* the benchmark variant needs room for 8 requests in flight */
#endif
#define SECTOR 512
#define DISK_SECTORS 64 /* the host's test disk */
/* 1 TiB: beyond arm64's 64 GiB IPA space (Arm64Layout.IPA_LIMIT) and far beyond the 64 MiB of an x86 test guest. */
#define OUTSIDE_RAM (1ULL << 40)
#define HOST_LINE "ping from the host\n"
#define HOST_LINE_LEN (sizeof HOST_LINE - 1)

struct desc { u64 addr; u32 len; u16 flags; u16 next; };

struct vq {
    /* The queue's table is the first QSIZE entries; the rest lets a broken chain run on past it in RAM. */
    struct desc desc[2 * QSIZE] __attribute__((aligned(16)));
    struct { u16 flags, idx, ring[QSIZE], used_event; } avail __attribute__((aligned(2)));
    struct { u16 flags, idx; struct { u32 id, len; } ring[QSIZE]; u16 avail_event; } used __attribute__((aligned(4)));
    uptr dev;
    u32 index;
    u16 next_avail, last_used;
    int silent; /* a wait for this queue timed out */
};

static struct vq blkq, rxq, txq;
static struct { u32 type, reserved; u64 sector; } header; /* struct virtio_blk_req's device-readable part */
static u8 status;                                         /* ... and its device-writable status byte */
static u8 wbuf[6 * SECTOR], rbuf[6 * SECTOR], last[SECTOR];
static u8 rxbuf[64], txbuf[64], line[64];
static int failures;

static void puts_(const char *s) { while (*s) arch_putc(*s++); }

static void check(int ok, const char *what) {
    puts_(ok ? "VIRTIO: ok " : "VIRTIO: FAIL ");
    puts_(what);
    arch_putc('\n');
    if (!ok) failures++;
}

static u32 rd(uptr dev, u32 reg) { return mmio_read32(dev + reg); }
static void wr(uptr dev, u32 reg, u32 v) { mmio_write32(dev + reg, v); }

/* Byte loops through volatile pointers: the compiler may not turn them into memset/memcpy calls. */
static void zero(void *p, u32 n) { for (volatile u8 *b = p; n--; ) *b++ = 0; }
static void copy(void *to, const void *from, u32 n) {
    volatile u8 *t = to;
    const volatile u8 *f = from;
    while (n--) *t++ = *f++;
}
static int same(const void *a, const void *b, u32 n) {
    const volatile u8 *x = a, *y = b;
    for (u32 i = 0; i < n; i++) if (x[i] != y[i]) return 0;
    return 1;
}

/* The test data: the host computes the same bytes to check the image file. */
static u8 pattern(u32 sector, u32 offset) { return (u8) (sector * 31 + offset * 7 + 3); }

static void fill(u8 *buf, u32 first_sector, u32 sectors) {
    for (u32 s = 0; s < sectors; s++)
        for (u32 i = 0; i < SECTOR; i++) buf[s * SECTOR + i] = pattern(first_sector + s, i);
}

/*
 * Resets the device and negotiates VERSION_1 plus `wanted` (feature bits 0-31, all of which it must offer)
 * up to FEATURES_OK (§3.1.1). Returns 0 if the device is not the expected one or refuses.
 */
static int negotiate(uptr dev, u32 device_id, u32 wanted) {
    if (rd(dev, MAGIC) != MMIO_MAGIC || rd(dev, VERSION) != 2 || rd(dev, DEVICE_ID) != device_id) return 0;
    wr(dev, STATUS, 0);
    if (rd(dev, STATUS) != 0) return 0;
    wr(dev, STATUS, S_ACKNOWLEDGE);
    wr(dev, STATUS, S_ACKNOWLEDGE | S_DRIVER);
    wr(dev, DEVICE_FEATURES_SEL, 1);
    if (!(rd(dev, DEVICE_FEATURES) & 1)) return 0; /* VIRTIO_F_VERSION_1 is bit 32 */
    wr(dev, DEVICE_FEATURES_SEL, 0);
    if ((rd(dev, DEVICE_FEATURES) & wanted) != wanted) return 0;
    wr(dev, DRIVER_FEATURES_SEL, 1);
    wr(dev, DRIVER_FEATURES, 1);
    wr(dev, DRIVER_FEATURES_SEL, 0);
    wr(dev, DRIVER_FEATURES, wanted);
    wr(dev, STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    return (rd(dev, STATUS) & S_FEATURES_OK) != 0;
}

/* Empties `q` and gives it to the device as queue `index` of size QSIZE. Returns 0 if refused. */
static int queue_setup(struct vq *q, uptr dev, u32 index) {
    zero(q, sizeof *q);
    q->dev = dev;
    q->index = index;
    wr(dev, QUEUE_SEL, index);
    if (rd(dev, QUEUE_READY) != 0 || rd(dev, QUEUE_NUM_MAX) < QSIZE) return 0;
    wr(dev, QUEUE_NUM, QSIZE);
    u64 d = (uptr) q->desc, a = (uptr) &q->avail, u = (uptr) &q->used;
    wr(dev, QUEUE_DESC_LOW, (u32) d);
    wr(dev, QUEUE_DESC_HIGH, (u32) (d >> 32));
    wr(dev, QUEUE_DRIVER_LOW, (u32) a);
    wr(dev, QUEUE_DRIVER_HIGH, (u32) (a >> 32));
    wr(dev, QUEUE_DEVICE_LOW, (u32) u);
    wr(dev, QUEUE_DEVICE_HIGH, (u32) (u >> 32));
    wr(dev, QUEUE_READY, 1);
    return rd(dev, QUEUE_READY) == 1;
}

static int driver_ok(uptr dev) {
    wr(dev, STATUS, S_RUNNING);
    return rd(dev, STATUS) == S_RUNNING;
}

static void set(struct desc *d, const void *addr, u32 len, u16 flags, u16 next) {
    d->addr = (uptr) addr;
    d->len = len;
    d->flags = flags;
    d->next = next;
}

/* Puts chain `head` (its descriptors are written) on the available ring and notifies the device. */
static void publish(struct vq *q, u16 head) {
    q->avail.ring[q->next_avail % QSIZE] = head;
    q->next_avail++;
    mb(); /* the descriptors and the ring entry before the index (§2.7.13) */
    *(volatile u16 *) &q->avail.idx = q->next_avail;
    mb(); /* the index before the notification */
    wr(q->dev, QUEUE_NOTIFY, q->index);
}

/*
 * Waits for the next used element, which must return chain `head`; its length, or -1 if none came in time.
 * A queue that missed an answer is not waited on again until it is set up again, so that a silent device
 * costs one timeout, not one per check.
 */
static long next_used(struct vq *q, u16 head) {
    for (u32 spin = 0; !q->silent && spin < SPIN_MEMORY; spin++) {
        if (*(volatile u16 *) &q->used.idx != q->last_used) {
            mb(); /* the index before the element it covers */
            volatile u32 *e = &q->used.ring[q->last_used % QSIZE].id;
            u32 id = e[0], len = e[1];
            q->last_used++;
            return id == head ? (long) len : -1;
        }
    }
    q->silent = 1;
    return -1;
}

/* ---- virtio-blk -------------------------------------------------------------------------------- */

static int blk_start(void) {
    uptr dev = VIRTIO_SLOT(0);
    return negotiate(dev, BLK_ID, 1u << BLK_F_FLUSH) && queue_setup(&blkq, dev, 0) && driver_ok(dev);
}

/*
 * One request: header, `segments` data buffers of `bytes` each from `data` (device-writable for IN), status.
 * Returns the status byte, or -1 if the device did not answer.
 */
static int blk_request(u32 type, u64 sector, u8 *data, u32 bytes, int segments) {
    u16 data_flags = type == BLK_T_IN ? DESC_F_WRITE : 0;
    header.type = type;
    header.reserved = 0;
    header.sector = sector;
    *(volatile u8 *) &status = 0xff;
    set(&blkq.desc[0], &header, sizeof header, DESC_F_NEXT, 1);
    for (int i = 0; i < segments; i++) set(&blkq.desc[1 + i], data + i * bytes, bytes, data_flags | DESC_F_NEXT, 2 + i);
    set(&blkq.desc[1 + segments], &status, 1, DESC_F_WRITE, 0);
    publish(&blkq, 0);
    if (next_used(&blkq, 0) < 0) return -1;
    return *(volatile u8 *) &status;
}

/*
 * Waits for the device behind `q` to report DEVICE_NEEDS_RESET with a configuration-change interrupt, without
 * having used the broken chain; then resets it and sets it up again with `start`. Returns 1 if all of that
 * happened.
 */
static int needs_reset_then_recovers(struct vq *q, int (*start)(void)) {
    uptr dev = q->dev;
    u32 spin = 0;
    while (spin < SPIN_MMIO && !(rd(dev, STATUS) & S_NEEDS_RESET)) spin++;
    int reported = spin < SPIN_MMIO && (rd(dev, INTERRUPT_STATUS) & INT_CONFIG);
    int unused = *(volatile u16 *) &q->used.idx == q->last_used;
    wr(dev, INTERRUPT_ACK, rd(dev, INTERRUPT_STATUS));
    wr(dev, STATUS, 0);
    int reset = rd(dev, STATUS) == 0;
    int restarted = start(); /* always, so that one failed case does not fail the ones after it */
    return reported && unused && reset && restarted;
}

static void broken_rings(void) {
    /* A loop through the whole table: 0 -> 1 -> ... -> 7 -> 0. */
    for (u16 i = 0; i < QSIZE; i++) set(&blkq.desc[i], &header, sizeof header, DESC_F_NEXT, (i + 1) % QSIZE);
    publish(&blkq, 0);
    check(needs_reset_then_recovers(&blkq, blk_start), "broken ring: a descriptor loop: NEEDS_RESET, config interrupt, recovered");

    /* A read into a buffer outside guest RAM. */
    set(&blkq.desc[0], &header, sizeof header, DESC_F_NEXT, 1);
    set(&blkq.desc[1], (const void *) (uptr) OUTSIDE_RAM, SECTOR, DESC_F_WRITE | DESC_F_NEXT, 2);
    set(&blkq.desc[2], &status, 1, DESC_F_WRITE, 0);
    header.type = BLK_T_IN;
    header.sector = 0;
    publish(&blkq, 0);
    check(needs_reset_then_recovers(&blkq, blk_start), "broken ring: a buffer outside RAM: NEEDS_RESET, config interrupt, recovered");

    /* Nine descriptors chained 0 -> 1 -> ... -> 8 while the queue has 8: the ninth is past the table. */
    for (u16 i = 0; i < QSIZE; i++) set(&blkq.desc[i], &header, sizeof header, DESC_F_NEXT, i + 1);
    set(&blkq.desc[QSIZE], &status, 1, DESC_F_WRITE, 0);
    publish(&blkq, 0);
    check(needs_reset_then_recovers(&blkq, blk_start), "broken ring: a chain longer than the queue: NEEDS_RESET, config interrupt, recovered");

    /* The available index QSIZE + 1 entries ahead of the device: more chains than the queue holds. */
    blkq.next_avail = QSIZE + 1;
    mb();
    *(volatile u16 *) &blkq.avail.idx = blkq.next_avail;
    mb();
    wr(blkq.dev, QUEUE_NOTIFY, 0);
    check(needs_reset_then_recovers(&blkq, blk_start), "broken ring: an available index too far ahead: NEEDS_RESET, config interrupt, recovered");

    /* An available ring entry naming descriptor QSIZE of a QSIZE-entry table. */
    publish(&blkq, QSIZE);
    check(needs_reset_then_recovers(&blkq, blk_start), "broken ring: an available head outside the table: NEEDS_RESET, config interrupt, recovered");
}

static void blk(int broken) {
    uptr dev = VIRTIO_SLOT(0);
    if (!blk_start()) {
        check(0, "blk: identified, VERSION_1 and FLUSH negotiated, queue 0 set up, DRIVER_OK");
        return;
    }
    check(1, "blk: identified, VERSION_1 and FLUSH negotiated, queue 0 set up, DRIVER_OK");
    check(rd(dev, CONFIG) == DISK_SECTORS && rd(dev, CONFIG + 4) == 0, "blk: capacity is 64 sectors");

    fill(wbuf, 1, 1);
    check(blk_request(BLK_T_OUT, 1, wbuf, SECTOR, 1) == BLK_S_OK, "blk: write sector 1");
    check(blk_request(BLK_T_FLUSH, 0, 0, 0, 0) == BLK_S_OK, "blk: flush");
    zero(rbuf, SECTOR);
    check(blk_request(BLK_T_IN, 1, rbuf, SECTOR, 1) == BLK_S_OK && same(rbuf, wbuf, SECTOR), "blk: read sector 1 back");

    fill(wbuf, 2, 6);
    check(blk_request(BLK_T_OUT, 2, wbuf, SECTOR, 6) == BLK_S_OK, "blk: write sectors 2-7 as six segments, a chain as long as the queue");
    zero(rbuf, 6 * SECTOR);
    check(blk_request(BLK_T_IN, 2, rbuf, 6 * SECTOR, 1) == BLK_S_OK && same(rbuf, wbuf, 6 * SECTOR), "blk: read sectors 2-7 back in one segment");

    check(blk_request(BLK_T_IN, DISK_SECTORS - 1, last, SECTOR, 1) == BLK_S_OK, "blk: read the last sector");
    check(blk_request(BLK_T_IN, DISK_SECTORS - 1, rbuf, 2 * SECTOR, 1) == BLK_S_IOERR, "blk: read past the end is IOERR");
    fill(wbuf, DISK_SECTORS - 1, 2);
    check(blk_request(BLK_T_OUT, DISK_SECTORS - 1, wbuf, 2 * SECTOR, 1) == BLK_S_IOERR, "blk: write past the end is IOERR");
    zero(rbuf, SECTOR);
    check(blk_request(BLK_T_IN, DISK_SECTORS - 1, rbuf, SECTOR, 1) == BLK_S_OK && same(rbuf, last, SECTOR),
          "blk: the last sector is unchanged");

    if (broken) broken_rings();

    zero(rbuf, SECTOR);
    fill(wbuf, 1, 1);
    check(blk_request(BLK_T_IN, 1, rbuf, SECTOR, 1) == BLK_S_OK && same(rbuf, wbuf, SECTOR),
          broken ? "blk: after the broken rings the device reads sector 1 back" : "blk: the device reads sector 1 back again");
    wr(dev, STATUS, 0);
    check(rd(dev, STATUS) == 0, "blk: reset at the end");
}

/* ---- virtio-console ---------------------------------------------------------------------------- */

static int transmit(const u8 *bytes, u32 n) {
    set(&txq.desc[0], bytes, n, 0, 0);
    publish(&txq, 0);
    return next_used(&txq, 0) >= 0;
}

static int console_start(void) {
    uptr dev = VIRTIO_SLOT(1);
    return negotiate(dev, CONSOLE_ID, 0) && queue_setup(&rxq, dev, 0) && queue_setup(&txq, dev, 1) && driver_ok(dev);
}

static void __attribute__((unused)) console(void) { /* unused in the peers variant */
    uptr dev = VIRTIO_SLOT(1);
    int up = console_start();
    check(up, "console: identified, VERSION_1 negotiated, queues 0 and 1 set up, DRIVER_OK");
    if (!up) return;

    /*
     * A receive buffer outside RAM: the console's own receive path must give up on it too, and the host's
     * line, which had nowhere to go, must still arrive after the reset.
     */
    set(&rxq.desc[0], (const void *) (uptr) OUTSIDE_RAM, sizeof rxbuf, DESC_F_WRITE, 0);
    publish(&rxq, 0);
    check(needs_reset_then_recovers(&rxq, console_start), "broken ring: a console receive buffer outside RAM: NEEDS_RESET, config interrupt, recovered");

    /* A receive buffer first, so the host's line has somewhere to go. */
    set(&rxq.desc[0], rxbuf, sizeof rxbuf, DESC_F_WRITE, 0);
    publish(&rxq, 0);

    static const char hello[] = "hello from " ARCH_NAME "\n";
    copy(txbuf, hello, sizeof hello - 1);
    check(transmit(txbuf, sizeof hello - 1), "console: transmit a line");

    /* The line may come in pieces: collect it, giving the buffer back after each. */
    u32 got = 0;
    while (got < HOST_LINE_LEN) {
        long n = next_used(&rxq, 0);
        if (n <= 0 || n > (long) sizeof rxbuf || got + (u32) n > sizeof line) break;
        copy(line + got, rxbuf, (u32) n);
        got += (u32) n;
        if (got < HOST_LINE_LEN) publish(&rxq, 0);
    }
    check(got == HOST_LINE_LEN && same(line, HOST_LINE, HOST_LINE_LEN), "console: receive the host's line");

    copy(txbuf, "echo: ", 6);
    copy(txbuf + 6, line, got);
    check(transmit(txbuf, 6 + got), "console: transmit it back");
    wr(dev, STATUS, 0);
}

#ifdef VIRTIO_PEERS
#include "virtio_fs.h"
#endif

#ifdef VIRTIO_BENCH
#include "virtio_bench.h" /* the benchmark variant: its own entry */
#else
ARCH_ENTRY {
    puts_("VIRTIO: start " ARCH_NAME "\n");
#ifdef VIRTIO_PEERS
    blk(0);
    fs();
#else
    blk(1);
    console();
#endif
    puts_(failures ? "VIRTIO: FAIL\n" : "VIRTIO: PASS\n");
    arch_stop();
}
#endif
