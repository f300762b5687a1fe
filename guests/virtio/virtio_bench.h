/*
 * The benchmark variant of the virtio test guest (virtio_test.c built with -DVIRTIO_BENCH -DQSIZE=32
 * [-DBENCH_N=N]): BENCH_N reads of 4 KiB from pseudo-random 4 KiB-aligned places of slot 0's virtio-blk disk,
 * first one at a time (queue depth 1), then with BENCH_QD requests in flight. Each phase lies between two UART
 * lines, "BENCH: begin qd Q" and "BENCH: end qd Q ok K" (K reads answered OK), which the host timestamps as
 * they arrive: the guest has no clock worth trusting under KVM's instruction emulator. The driver polls the
 * used ring, as the test does, and gives up after SPIN_MEMORY empty rounds (then K < BENCH_N).
 */
#define BENCH_BLOCK 4096
#define BENCH_QD 8
#ifndef BENCH_N
#define BENCH_N 20000
#endif

#if QSIZE < 3 * BENCH_QD
#error "the benchmark needs QSIZE >= 3 * BENCH_QD: build it with -DQSIZE=32"
#endif

static struct { u32 type, reserved; u64 sector; } bench_header[BENCH_QD];
static u8 bench_status[BENCH_QD];
static u8 bench_data[BENCH_QD][BENCH_BLOCK] __attribute__((aligned(4096)));
static u32 bench_seed = 1;

static void put_u32(u32 v) {
    char b[11];
    int i = 10;
    b[i] = 0;
    do { b[--i] = (char) ('0' + v % 10); v /= 10; } while (v);
    puts_(b + i);
}

/* Request slot `slot` is the chain of descriptors 3*slot (header), 3*slot+1 (data), 3*slot+2 (status). */
static void bench_issue(u32 slot, u32 blocks) {
    u16 head = (u16) (3 * slot);
    bench_seed = bench_seed * 1103515245u + 12345u; /* an LCG is random enough to defeat read-ahead */
    bench_header[slot].type = BLK_T_IN;
    bench_header[slot].reserved = 0;
    bench_header[slot].sector = (u64) ((bench_seed >> 8) % blocks) * (BENCH_BLOCK / SECTOR);
    *(volatile u8 *) &bench_status[slot] = 0xff;
    set(&blkq.desc[head], &bench_header[slot], sizeof bench_header[slot], DESC_F_NEXT, head + 1);
    set(&blkq.desc[head + 1], bench_data[slot], BENCH_BLOCK, DESC_F_WRITE | DESC_F_NEXT, head + 2);
    set(&blkq.desc[head + 2], &bench_status[slot], 1, DESC_F_WRITE, 0);
    publish(&blkq, head);
}

/* BENCH_N reads with `qd` in flight; the number answered OK. */
static u32 bench_reads(u32 qd, u32 blocks) {
    u32 issued = 0, done = 0, ok = 0;
    for (; issued < qd && issued < BENCH_N; issued++) bench_issue(issued, blocks);
    while (done < BENCH_N) {
        for (u32 spin = 0; *(volatile u16 *) &blkq.used.idx == blkq.last_used; spin++) {
            if (spin == SPIN_MEMORY) return ok;
        }
        mb();
        u32 id = ((volatile u32 *) &blkq.used.ring[blkq.last_used % QSIZE].id)[0];
        blkq.last_used++;
        done++;
        u32 slot = id / 3;
        if (id % 3 != 0 || slot >= qd) return ok;
        if (*(volatile u8 *) &bench_status[slot] == BLK_S_OK) ok++;
        if (issued < BENCH_N) {
            bench_issue(slot, blocks);
            issued++;
        }
    }
    return ok;
}

ARCH_ENTRY {
    uptr dev = VIRTIO_SLOT(0);
    puts_("BENCH: start " ARCH_NAME "\n");
    u32 blocks = rd(dev, CONFIG + 4) != 0 ? 0 : rd(dev, CONFIG) / (BENCH_BLOCK / SECTOR);
    if (!blk_start() || blocks == 0) {
        puts_("BENCH: FAIL no disk of at least 4 KiB and under 2 TiB in slot 0\n");
        arch_stop();
    }
    static const u32 depths[] = {1, BENCH_QD};
    for (int i = 0; i < 2; i++) {
        puts_("BENCH: begin qd ");
        put_u32(depths[i]);
        puts_("\n");
        u32 ok = bench_reads(depths[i], blocks);
        puts_("BENCH: end qd ");
        put_u32(depths[i]);
        puts_(" ok ");
        put_u32(ok);
        puts_("\n");
    }
    wr(dev, STATUS, 0);
    arch_stop();
}
