/*
 * The benchmark variant of the virtio-net test guest (net.c built with -DNET_BENCH [-DBENCH_N=N]), for the
 * sandbox module's NetKvmBenchmark. Two phases, each between two UART lines that the host timestamps as they
 * arrive (the guest has no clock worth trusting under KVM's instruction emulator):
 *
 *   "BENCH: begin tx" ... "BENCH: end tx ok K": BENCH_N frames of FRAME bytes sent back to back, the transmit
 *       ring kept full; K frames came back on the used ring.
 *   "BENCH: begin rx" ... "BENCH: end rx ok K": the host starts sending BENCH_N frames when it sees the begin
 *       line; the receive ring is kept full of BUF-byte buffers, each used one posted again at once; K of the
 *       frames that arrived had the expected length.
 *
 * After each phase a line "BENCH: stats tx|rx notified M batches B polls P" says how many queue notifications
 * (MMIO exits) the phase took, how many times the guest found new used buffers, and how many empty memory
 * polls it made meanwhile: P high means the guest waited for the device, P near 0 that the guest's own
 * per-frame work was the limit. Then the guest resets through the i8042, as the test does.
 *
 * KVM runs this code in its instruction emulator on the test machines (about 0.7 µs an instruction, 11 µs an
 * MMIO exit), so the measured loops do as little as they can: one prebuilt frame behind every transmit
 * descriptor, no copying, and polling of the used rings in memory only. VIRTIO_F_EVENT_IDX tells the driver
 * when the device is about to sleep, so a queue is notified only then (net.c's publish() notifies for every
 * buffer, and its next_used() makes MMIO reads while it spins). A bounded spin ends a phase with a short
 * count instead of a hang when frames stop coming.
 */
#define F_EVENT_IDX 29
#define FRAME 1514 /* an Ethernet header and a 1500-byte payload */
#ifndef BENCH_N
#define BENCH_N 20000
#endif
/* Empty memory poll rounds before a phase gives up: seconds in the emulator (see guests/virtio/arch_x86_64.h). */
#define BENCH_SPIN 1000000u

#if QSIZE & (QSIZE - 1)
#error "QSIZE must be a power of two: ids from the used ring are masked with QSIZE - 1"
#endif

/* Every transmit descriptor points here: the device only reads it. */
static u8 bench_frame[HDR + FRAME] __attribute__((aligned(16)));

static void put_u32(u32 v) {
    char b[11];
    int i = 10;
    b[i] = 0;
    do { b[--i] = (char) ('0' + v % 10); v /= 10; } while (v);
    puts_(b + i);
}

/*
 * Makes the avail ring's entries up to `idx` visible and notifies queue `index` only if the device asked for
 * it by moving avail_event into the entries just added (§2.7.10's vring_need_event); 1 if it notified.
 * used_event stays 0, so the device interrupts once per 65536 used buffers at most: this guest polls.
 */
static u32 bench_publish(u32 index, struct queue *q, u16 idx) {
    u16 old = q->avail.idx;
    if (idx == old) return 0;
    mb(); /* the entries before the index */
    *(volatile u16 *) &q->avail.idx = idx;
    mb(); /* the index before avail_event: the device writes avail_event, then rechecks the index */
    u16 event = *(volatile u16 *) &q->used.avail_event;
    if ((u16) (idx - event - 1) >= (u16) (idx - old)) return 0;
    wr(QUEUE_NOTIFY, index);
    return 1;
}

struct bench_stats { u32 notified, batches, polls; };

/* The next used index of `q` once it differs from last_used, or last_used itself after BENCH_SPIN rounds. */
static u16 bench_wait(struct queue *q, struct bench_stats *st) {
    u16 used;
    u32 spin = 0;
    for (; (used = *(volatile u16 *) &q->used.idx) == q->last_used; spin++) {
        if (spin == BENCH_SPIN) break;
    }
    st->polls += spin;
    st->batches++;
    mb(); /* the index before the elements it covers */
    return used;
}

/* BENCH_N frames, the ring kept full; returns how many the device gave back. */
static u32 bench_tx(struct bench_stats *st) {
    u16 avail = txq.avail.idx;
    u32 sent = 0, done = 0;
    for (u16 d = 0; d < QSIZE && sent < BENCH_N; d++, sent++) txq.avail.ring[avail++ % QSIZE] = d;
    st->notified += bench_publish(1, &txq, avail);
    while (done < BENCH_N) {
        u16 used = bench_wait(&txq, st);
        if (used == txq.last_used) break;
        for (; txq.last_used != used; txq.last_used++, done++) {
            if (sent < BENCH_N) {
                txq.avail.ring[avail++ % QSIZE] = (u16) (txq.used.ring[txq.last_used % QSIZE].id & (QSIZE - 1));
                sent++;
            }
        }
        st->notified += bench_publish(1, &txq, avail);
    }
    return done;
}

/* Counts arriving frames until BENCH_N came, posting each buffer again; returns how many had FRAME bytes. */
static u32 bench_rx(struct bench_stats *st) {
    u16 avail = rxq.avail.idx;
    u32 got = 0, ok = 0;
    while (got < BENCH_N) {
        u16 used = bench_wait(&rxq, st);
        if (used == rxq.last_used) break;
        for (; rxq.last_used != used; rxq.last_used++, got++) {
            struct used_elem *e = &rxq.used.ring[rxq.last_used % QSIZE];
            ok += e->len == HDR + FRAME;
            rxq.avail.ring[avail++ % QSIZE] = (u16) (e->id & (QSIZE - 1));
        }
        st->notified += bench_publish(0, &rxq, avail);
    }
    return ok;
}

static void bench_phase(const char *name, u32 (*phase)(struct bench_stats *)) {
    struct bench_stats st = {0, 0, 0};
    puts_("BENCH: begin "); puts_(name); putc_('\n');
    u32 ok = phase(&st);
    puts_("BENCH: end "); puts_(name); puts_(" ok "); put_u32(ok); putc_('\n');
    puts_("BENCH: stats "); puts_(name); puts_(" notified "); put_u32(st.notified);
    puts_(" batches "); put_u32(st.batches); puts_(" polls "); put_u32(st.polls); putc_('\n');
    if (rd(STATUS) & S_NEEDS_RESET) puts_("BENCH: FAIL the device needs a reset\n");
}

/* Runs both phases once net.c has set the device up and posted every receive buffer; never returns. */
static void bench(const u8 *me) {
    u8 *f = bench_frame + HDR; /* the virtio_net_hdr before it stays all zero: no offloads */
    for (int i = 0; i < 6; i++) { f[i] = 0xff; f[6 + i] = me[i]; }
    f[12] = 0x88; f[13] = 0xb5; /* IEEE 802 local experimental ethertype: no host stack acts on it */
    for (int i = 14; i < FRAME; i++) f[i] = (u8) i;
    for (u16 d = 0; d < QSIZE; d++) txq.desc[d] = (struct desc) {(u64) bench_frame, HDR + FRAME, 0, 0};
    puts_("BENCH: start net\n");
    bench_phase("tx", bench_tx);
    bench_phase("rx", bench_rx);
    wr(STATUS, 0);
    for (;;) outb(0x64, 0xfe); /* i8042 reset: the machine stops */
}
