/*
 * The raw C baseline for jvmm's exit-cost benchmark: the smallest possible KVM loop (no VMM around it)
 * running the same guest, arch-x86/src/test/guests/bench16.asm, so that jvmm's figures can be read
 * against what KVM itself costs on the same machine in the same run.
 *
 *   gcc -O2 -o target/kvm_exit_cost bench/kvm_exit_cost.c
 *   target/kvm_exit_cost arch-x86/target/guests/bench16.bin 100000
 *
 * Prints nanoseconds per iteration of each phase and, subtracting the empty loop, per exit, in wall
 * time and in the vCPU thread's CPU time.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define RAM_SIZE 0xa0000   /* below the MMIO address the guest writes */
#define ENTRY 0x1000
#define COUNT_AT 0x0ff8

static void die(const char *what) { perror(what); exit(1); }

static uint64_t clock_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s bench16.bin COUNT\n", argv[0]); return 2; }
    uint32_t count = (uint32_t)strtoul(argv[2], NULL, 0);

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("open /dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfeffd000ul) < 0) die("KVM_SET_TSS_ADDR");

    uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED) die("mmap");
    FILE *f = fopen(argv[1], "rb");
    if (!f) die(argv[1]);
    size_t n = fread(ram + ENTRY, 1, RAM_SIZE - ENTRY, f);
    fclose(f);
    if (n == 0) { fprintf(stderr, "empty guest\n"); return 1; }
    memcpy(ram + COUNT_AT, &count, 4);
    struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = RAM_SIZE,
                                                   .userspace_addr = (uint64_t)ram };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
    struct kvm_regs regs = { .rip = ENTRY, .rflags = 2 };
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

    /* wall time, and this thread's CPU time (user + system: KVM_RUN's work is system time), which
     * other processes competing for the CPU do not inflate */
    uint64_t t[4] = {0}, c[4] = {0};
    uint64_t exits = 0;
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
        exits++;
        if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
            switch (run->io.port) {
            case 0x83: t[0] = clock_ns(CLOCK_MONOTONIC); c[0] = clock_ns(CLOCK_THREAD_CPUTIME_ID); break;
            case 0x84: t[1] = clock_ns(CLOCK_MONOTONIC); c[1] = clock_ns(CLOCK_THREAD_CPUTIME_ID); break;
            case 0x81: t[2] = clock_ns(CLOCK_MONOTONIC); c[2] = clock_ns(CLOCK_THREAD_CPUTIME_ID); break;
            case 0x82: t[3] = clock_ns(CLOCK_MONOTONIC); c[3] = clock_ns(CLOCK_THREAD_CPUTIME_ID); break;
            default: break; /* 0x80: the measured exit, answered by doing nothing */
            }
        } else if (run->exit_reason == KVM_EXIT_MMIO) {
            /* the measured MMIO write: nothing to do */
        } else if (run->exit_reason == KVM_EXIT_HLT) {
            break;
        } else {
            fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
            return 1;
        }
    }
    for (int k = 0; k < 2; k++) {
        uint64_t *x = k == 0 ? t : c;
        double loop = (double)(x[1] - x[0]) / count;
        double pio = (double)(x[2] - x[1]) / count;
        double mmio = (double)(x[3] - x[2]) / count;
        printf("c    %s: count=%u loop=%.0f ns/iter pio=%.0f ns/iter mmio=%.0f ns/iter => pio exit %.0f ns, mmio exit %.0f ns\n",
               k == 0 ? "wall" : "cpu ", count, loop, pio, mmio, pio - loop, mmio - loop);
    }
    if (exits != 2u * count + 5) { fprintf(stderr, "expected %u exits, saw %llu\n", 2u * count + 5, (unsigned long long)exits); return 1; }
    return 0;
}
