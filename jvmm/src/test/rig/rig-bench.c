/*
 * rig-bench: the nested rig's whole-VM I/O benchmark program (bench/vm-io runs it through run-rig --payload bench).
 *
 * One static binary (gcc -static) that runs unchanged in L2 under either VMM and in L1 on the image file itself,
 * so the three figures come from the same code:
 *
 *   rig-bench blk FILE SECONDS         4 KiB random reads at queue depth 1 and 32, then 1 MiB sequential reads,
 *                                      each for SECONDS; Linux AIO (io_setup/io_submit/io_getevents as raw
 *                                      system calls, <linux/aio_abi.h>) on FILE opened with O_DIRECT, or buffered
 *                                      where the file system refuses O_DIRECT (tmpfs before Linux 6.6: said in
 *                                      the output as direct=0; buffered AIO then completes inside io_submit)
 *   rig-bench net-send ADDR PORT MIB   sends MIB MiB over one TCP connection, waits for the peer to close
 *   rig-bench net-sink PORT            accepts one connection, reads to its end, closes
 *
 * Each result is one line: RIG-BENCH test=NAME ... with the figure measured on the caller's CLOCK_MONOTONIC.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* the kernel's struct tcp_info: glibc's lacks pacing_rate, min_rtt and the limited times */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_QD 32

static void die(const char *what) {
    fprintf(stderr, "rig-bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) { /* xorshift64: uniform enough for picking blocks */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t size_of(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) die("fstat");
    if (S_ISBLK(st.st_mode)) {
        uint64_t bytes;
        if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) die("BLKGETSIZE64");
        return bytes;
    }
    return (uint64_t) st.st_size;
}

/*
 * Keeps qd reads of `block` bytes in flight for `seconds`; sequential from offset 0 (wrapping) or at random
 * block-aligned offsets. Returns the number of reads completed.
 */
static long run_reads(int fd, uint64_t size, size_t block, int qd, int sequential, double seconds, double *elapsed) {
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, qd, &ctx) != 0) die("io_setup");
    static struct iocb cbs[MAX_QD];
    struct iocb *ptrs[MAX_QD];
    static void *bufs[MAX_QD];
    uint64_t blocks = size / block, next_seq = 0;
    if (blocks == 0) { errno = EINVAL; die("file smaller than one block"); }
    for (int i = 0; i < qd; i++) {
        if (bufs[i] == NULL && posix_memalign(&bufs[i], 1 << 20, 1 << 20) != 0) die("posix_memalign");
    }
    long done = 0;
    int in_flight = 0;
    double start = now(), deadline = start + seconds;
    for (;;) {
        int n = 0;
        /* Refill the free slots (all of them at first) unless time is up. */
        if (now() < deadline) {
            for (int i = 0; i < qd && in_flight + n < qd; i++) {
                if (cbs[i].aio_data == 1) continue; /* in flight */
                uint64_t b = sequential ? next_seq++ % blocks : next_random() % blocks;
                memset(&cbs[i], 0, sizeof cbs[i]);
                cbs[i].aio_data = 1;
                cbs[i].aio_fildes = fd;
                cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
                cbs[i].aio_buf = (uint64_t) (uintptr_t) bufs[i];
                cbs[i].aio_nbytes = block;
                cbs[i].aio_offset = (int64_t) (b * block);
                ptrs[n++] = &cbs[i];
            }
        }
        if (n > 0) {
            long s = syscall(SYS_io_submit, ctx, n, ptrs);
            if (s != n) die("io_submit");
            in_flight += n;
        }
        if (in_flight == 0) break;
        struct io_event events[MAX_QD];
        long got = syscall(SYS_io_getevents, ctx, 1, MAX_QD, events, NULL);
        if (got < 0) {
            if (errno == EINTR) continue;
            die("io_getevents");
        }
        for (long e = 0; e < got; e++) {
            struct iocb *cb = (struct iocb *) (uintptr_t) events[e].obj;
            if (events[e].res != (int64_t) block) {
                fprintf(stderr, "rig-bench: read at %lld returned %lld\n", (long long) cb->aio_offset, (long long) events[e].res);
                exit(1);
            }
            cb->aio_data = 0;
            in_flight--;
            done++;
        }
    }
    *elapsed = now() - start;
    syscall(SYS_io_destroy, ctx);
    return done;
}

static int blk(const char *file, double seconds) {
    int direct = 1;
    int fd = open(file, O_RDONLY | O_DIRECT);
    if (fd < 0 && errno == EINVAL) {
        direct = 0;
        fd = open(file, O_RDONLY);
    }
    if (fd < 0) die(file);
    uint64_t size = size_of(fd);
    double secs;
    int depths[] = {1, 32};
    for (int d = 0; d < 2; d++) {
        long ops = run_reads(fd, size, 4096, depths[d], 0, seconds, &secs);
        printf("RIG-BENCH test=randread4k qd=%d direct=%d ops=%ld secs=%.2f iops=%.0f\n", depths[d], direct, ops, secs, ops / secs);
        fflush(stdout);
    }
    long ops = run_reads(fd, size, 1 << 20, 1, 1, seconds, &secs);
    printf("RIG-BENCH test=seqread1m qd=1 direct=%d ops=%ld secs=%.2f mbps=%.1f\n", direct, ops, secs, ops * 1.048576 / secs);
    fflush(stdout);
    close(fd);
    return 0;
}

static int net_send(const char *addr, int port, long mib) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) die("socket");
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, addr, &to.sin_addr) != 1) { errno = EINVAL; die(addr); }
    if (connect(s, (struct sockaddr *) &to, sizeof to) != 0) die("connect");
    static char buf[65536];
    memset(buf, 'j', sizeof buf);
    double start = now();
    for (long sent = 0, total = mib << 20; sent < total; ) {
        ssize_t w = write(s, buf, sizeof buf);
        if (w < 0) {
            if (errno == EINTR) continue;
            die("write");
        }
        sent += w;
    }
    /* Counted as sent only once the sink has read everything and closed its end. */
    shutdown(s, SHUT_WR);
    while (read(s, buf, sizeof buf) > 0) {}
    double secs = now() - start;
    printf("RIG-BENCH test=net-send mib=%ld secs=%.2f mbps=%.1f\n", mib, secs, mib * 1.048576 / secs);
    /* The sender's TCP state at the end: what paced it (rtt, cwnd, pacing rate) and what it waited for. */
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
        printf("RIG-BENCH-TCPINFO rtt_us=%u rttvar_us=%u min_rtt_us=%u cwnd=%u ssthresh=%u mss=%u retrans=%u"
               " pacing_Bps=%llu delivery_Bps=%llu busy_us=%llu rwnd_limited_us=%llu sndbuf_limited_us=%llu\n",
               ti.tcpi_rtt, ti.tcpi_rttvar, ti.tcpi_min_rtt, ti.tcpi_snd_cwnd, ti.tcpi_snd_ssthresh, ti.tcpi_snd_mss,
               ti.tcpi_total_retrans, (unsigned long long) ti.tcpi_pacing_rate, (unsigned long long) ti.tcpi_delivery_rate,
               (unsigned long long) ti.tcpi_busy_time, (unsigned long long) ti.tcpi_rwnd_limited,
               (unsigned long long) ti.tcpi_sndbuf_limited);
    }
    fflush(stdout);
    close(s);
    return 0;
}

static int net_sink(int port) {
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (l < 0) die("socket");
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(l, (struct sockaddr *) &at, sizeof at) != 0) die("bind");
    if (listen(l, 1) != 0) die("listen");
    int s = accept(l, NULL, NULL);
    if (s < 0) die("accept");
    static char buf[1 << 18];
    long long total = 0;
    double start = 0;
    for (;;) {
        ssize_t r = read(s, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (total == 0) start = now();
        total += r;
    }
    double secs = now() - start;
    close(s);
    close(l);
    printf("RIG-BENCH test=net-sink bytes=%lld secs=%.2f mbps=%.1f\n", total, secs, total / 1e6 / secs);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "blk") == 0) return blk(argv[2], atof(argv[3]));
    if (argc == 5 && strcmp(argv[1], "net-send") == 0) return net_send(argv[2], atoi(argv[3]), atol(argv[4]));
    if (argc == 3 && strcmp(argv[1], "net-sink") == 0) return net_sink(atoi(argv[2]));
    fprintf(stderr, "usage: rig-bench blk FILE SECONDS | net-send ADDR PORT MIB | net-sink PORT\n");
    return 2;
}
