/*
 * The virtio-net test guest for VirtioNetKvmTest: a bzImage (the boot-protocol probe's header and linker
 * script, arch-x86/src/test/probe) with a minimal virtio-mmio 1.x driver (virtio 1.2 §4.2.3, §5.1) for the
 * network device in the first x86 slot. It negotiates VERSION_1 and MAC only, posts receive buffers, sends
 * one ARP request "who has 10.99.0.1? tell 10.99.0.2" and waits for the ARP reply among the frames that
 * arrive. It prints "NET: ..." lines on COM1 (the reply's sender MAC as "NET: is-at xx:..:xx") and ends
 * with "NET: PASS" or "NET: FAIL <why>", then resets through the i8042.
 *
 * The guest runs with the 64-bit boot protocol's identity map of [0, 4 GiB), so the MMIO slot is reachable;
 * no interrupts: it polls the used rings, with bounded loops so a missing frame ends in FAIL, not a hang.
 *
 * Built with -DNET_BENCH [-DBENCH_N=N] it is the throughput benchmark of net_bench.h instead; without it the
 * program is the test's, unchanged.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define COM1 0x3f8
#define MMIO 0xd0000000UL /* X86Layout.VIRTIO_MMIO_BASE: slot 0 */

/* virtio-mmio v2 registers (§4.2.2) */
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

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define F_MAC 5
#define DESC_F_WRITE 2
#ifdef NET_BENCH
#define QSIZE 128 /* the benchmark keeps a full ring in flight: more frames per notification */
#else
#define QSIZE 8
#endif
#define HDR 12 /* struct virtio_net_hdr with num_buffers: always 12 bytes with VERSION_1 */
#define BUF 2048

struct desc { u64 addr; u32 len; u16 flags; u16 next; };
struct avail { u16 flags; u16 idx; u16 ring[QSIZE]; u16 used_event; };
struct used_elem { u32 id; u32 len; };
struct used { u16 flags; u16 idx; struct used_elem ring[QSIZE]; u16 avail_event; };

struct queue {
    struct desc desc[QSIZE] __attribute__((aligned(16)));
    struct avail avail __attribute__((aligned(2)));
    struct used used __attribute__((aligned(4)));
    u16 last_used;
};

static struct queue rxq __attribute__((aligned(4096)));
static struct queue txq __attribute__((aligned(4096)));
static u8 rxbuf[QSIZE][BUF] __attribute__((aligned(16)));
static u8 txbuf[BUF] __attribute__((aligned(16)));

static const u8 GUEST_IP[4] = {10, 99, 0, 2};
static const u8 PEER_IP[4] = {10, 99, 0, 1};

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 rd(u32 reg) { return *(volatile u32 *) (MMIO + reg); }
static inline u8 rd8(u32 reg) { return *(volatile u8 *) (MMIO + reg); }
static inline void wr(u32 reg, u32 v) { *(volatile u32 *) (MMIO + reg) = v; }
/* A full barrier without SSE: a locked no-op on the stack. */
static inline void mb(void) { __asm__ volatile("lock; addl $0, (%%rsp)" ::: "memory"); }

static void putc_(char c) {
    while (!(inb(COM1 + 5) & 0x20)) {}
    outb(COM1, (u8) c);
}
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void hex8(u8 v) { const char *d = "0123456789abcdef"; putc_(d[v >> 4]); putc_(d[v & 15]); }
static void mac(const u8 *m) { for (int i = 0; i < 6; i++) { if (i) putc_(':'); hex8(m[i]); } }

static void finish(const char *why) {
    if (why) { puts_("NET: FAIL "); puts_(why); putc_('\n'); } else puts_("NET: PASS\n");
    for (;;) outb(0x64, 0xfe); /* i8042 reset: the machine stops */
}

static void setup(u32 index, struct queue *q) {
    wr(QUEUE_SEL, index);
    if (rd(QUEUE_NUM_MAX) < QSIZE) finish("QueueNumMax < 8");
    wr(QUEUE_NUM, QSIZE);
    u64 d = (u64) q->desc, a = (u64) &q->avail, u = (u64) &q->used;
    wr(QUEUE_DESC_LOW, (u32) d); wr(QUEUE_DESC_HIGH, (u32) (d >> 32));
    wr(QUEUE_DRIVER_LOW, (u32) a); wr(QUEUE_DRIVER_HIGH, (u32) (a >> 32));
    wr(QUEUE_DEVICE_LOW, (u32) u); wr(QUEUE_DEVICE_HIGH, (u32) (u >> 32));
    wr(QUEUE_READY, 1);
}

/* Makes descriptor d available (the descriptor is filled in already) and tells the device. */
static void publish(u32 index, struct queue *q, u16 d) {
    q->avail.ring[q->avail.idx % QSIZE] = d;
    mb();
    q->avail.idx++;
    mb();
    wr(QUEUE_NOTIFY, index);
}

/* Waits for the next used element; 0 if none came within the bound (each poll is an MMIO exit or two). */
static struct used_elem *next_used(struct queue *q) {
    for (u32 spins = 0; spins < 400000; spins++) {
        mb();
        if (*(volatile u16 *) &q->used.idx != q->last_used) {
            struct used_elem *e = &q->used.ring[q->last_used % QSIZE];
            q->last_used++;
            return e;
        }
        if (rd(STATUS) & S_NEEDS_RESET) finish("the device needs a reset");
        wr(INTERRUPT_ACK, rd(INTERRUPT_STATUS));
    }
    return 0;
}

#ifdef NET_BENCH
#include "net_bench.h"
#endif

static int same(const u8 *a, const u8 *b, int n) { for (int i = 0; i < n; i++) if (a[i] != b[i]) return 0; return 1; }

void probe_main(u64 bp, u64 running_at, u64 rflags, u64 cs, u64 linked_at) {
    puts_("NET: start\n");
    if (rd(MAGIC) != 0x74726976 || rd(VERSION) != 2 || rd(DEVICE_ID) != 1) finish("no virtio-mmio v2 network device in slot 0");
    wr(STATUS, 0);
    wr(STATUS, S_ACKNOWLEDGE);
    wr(STATUS, S_ACKNOWLEDGE | S_DRIVER);
    wr(DEVICE_FEATURES_SEL, 1);
    if (!(rd(DEVICE_FEATURES) & 1)) finish("no VERSION_1");
    wr(DEVICE_FEATURES_SEL, 0);
    if (!(rd(DEVICE_FEATURES) & (1u << F_MAC))) finish("no VIRTIO_NET_F_MAC");
    wr(DRIVER_FEATURES_SEL, 1);
    wr(DRIVER_FEATURES, 1);
    wr(DRIVER_FEATURES_SEL, 0);
#ifdef NET_BENCH
    wr(DRIVER_FEATURES, (1u << F_MAC) | (1u << F_EVENT_IDX));
#else
    wr(DRIVER_FEATURES, 1u << F_MAC);
#endif
    wr(STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    if (!(rd(STATUS) & S_FEATURES_OK)) finish("FEATURES_OK refused");
    setup(0, &rxq);
    setup(1, &txq);
    wr(STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);

    u8 me[6];
    for (int i = 0; i < 6; i++) me[i] = rd8(CONFIG + i);
    puts_("NET: mac "); mac(me); putc_('\n');

    for (u16 d = 0; d < QSIZE; d++) {
        rxq.desc[d] = (struct desc) {(u64) rxbuf[d], BUF, DESC_F_WRITE, 0};
        publish(0, &rxq, d);
    }
#ifdef NET_BENCH
    bench(me);
#endif

    /* An ARP request (RFC 826) behind an all-zero header: no offloads, one buffer. */
    u8 *f = txbuf + HDR;
    for (int i = 0; i < HDR + 60; i++) txbuf[i] = 0;
    for (int i = 0; i < 6; i++) { f[i] = 0xff; f[6 + i] = me[i]; f[22 + i] = me[i]; }
    f[12] = 0x08; f[13] = 0x06;                 /* ethertype ARP */
    f[14] = 0; f[15] = 1; f[16] = 0x08; f[17] = 0; /* Ethernet, IPv4 */
    f[18] = 6; f[19] = 4; f[20] = 0; f[21] = 1;    /* sizes, request */
    for (int i = 0; i < 4; i++) { f[28 + i] = GUEST_IP[i]; f[38 + i] = PEER_IP[i]; }
    txq.desc[0] = (struct desc) {(u64) txbuf, HDR + 60, 0, 0};
    publish(1, &txq, 0);
    if (!next_used(&txq)) finish("the ARP request was not sent");
    puts_("NET: sent ARP request for 10.99.0.1\n");

    for (int frames = 0; frames < 64; frames++) {
        struct used_elem *e = next_used(&rxq);
        if (!e) finish("no ARP reply arrived");
        if (e->id >= QSIZE || e->len < HDR + 42 || e->len > BUF) {
            if (e->id >= QSIZE) finish("a used element names no posted buffer");
            publish(0, &rxq, (u16) e->id);
            continue;
        }
        u8 *h = rxbuf[e->id], *r = h + HDR;
        if (h[10] != 1 || h[11] != 0) finish("num_buffers is not 1");
        int reply = r[12] == 0x08 && r[13] == 0x06 && r[20] == 0 && r[21] == 2
                && same(r + 28, PEER_IP, 4) && same(r + 38, GUEST_IP, 4) && same(r, me, 6);
        if (reply) {
            puts_("NET: is-at "); mac(r + 22); putc_('\n');
            wr(STATUS, 0);
            finish(0);
        }
        puts_("NET: other frame, ethertype "); hex8(r[12]); hex8(r[13]); putc_('\n');
        publish(0, &rxq, (u16) e->id);
    }
    finish("64 frames and no ARP reply");
}
