/*
 * hvfsim: a SIMULATED arm64 Hypervisor.framework for jvmm's tests. This is not Apple hardware and not
 * Apple's code; it is a stand-in written from the public API description (reference/hvf-arm64.md) so that
 * jvmm's HVF arm64 backend (org.jvmm.arm64.hvf) runs its real FFM code on Linux. Guest instructions run on
 * Unicorn's AArch64 CPU (Debian's libunicorn-dev, Unicorn 2.0.x) at EL1; everything that real HVF turns into
 * an exit to the VMM is caught here and reported through the same hv_vcpu_exit_t with the same syndrome
 * (ESR_EL2) encoding and the same PC rules:
 *
 *   load/store to an unmapped IPA  -> EXCEPTION, EC 0x24, ISV=1 with SAS/SSE/SRT/SF/WnR for single-register
 *                                     LDR/STR forms without writeback (decoded from the instruction), ISV=0
 *                                     otherwise (LDP/STP, pre/post-index, SIMD); PC at the access
 *   fetch from an unmapped IPA     -> EXCEPTION, EC 0x20; PC at the fetch
 *   HVC                            -> EC 0x16, PC already past the HVC (the VMM must not advance it)
 *   SMC                            -> EC 0x17, PC at the SMC (the VMM advances it)
 *   WFI / WFE                      -> EC 0x01 (TI = 0 / 1), PC at the instruction
 *   MRS/MSR of the "trapped" set   -> EC 0x18 with Op0/Op1/CRn/CRm/Op2/Rt/Direction; PC at the instruction.
 *                                     The set: op0 = 2 (debug, OS lock), PMU (CRn 9), ICC_* (the simulation
 *                                     has no GIC CPU interface), IMPLEMENTATION DEFINED (CRn 11, 15).
 *   the EL1 virtual timer          -> VTIMER_ACTIVATED when ENABLE && !IMASK && CNTVCT >= CVAL and the
 *                                     vtimer is not masked; the exit masks it (hv_vcpu_set_vtimer_mask)
 *   hv_vcpus_exit                  -> CANCELED (also "the next run returns at once" when not running)
 *
 * The generic timer is simulated here, not by Unicorn: CNTFRQ_EL0 = 24 MHz, CNTVCT_EL0 =
 * mach_absolute_time() - vtimer_offset, CNTV_CTL/CVAL/TVAL per vCPU. mach_absolute_time,
 * mach_timebase_info and os_release (libSystem on macOS) are exported too, so the backend finds them in
 * the library it was pointed at. hv_gic_* model the configuration rules and record SPI levels and
 * redistributor pending bits; no interrupt is delivered to guest code.
 *
 * Known differences from the real framework: the functions use the x86-64 SysV calling convention instead
 * of Apple's arm64 ABI (the Java FFM code is the same); data-abort IPAs are the faulting virtual address
 * (exact while the guest's MMU is off, as in the conformance guests); guest exceptions that real HVF
 * delivers to the guest (UNDEF, SVC, BRK) end the run with an UNKNOWN-class syndrome (EC 0) instead; a
 * wrong-thread call returns HV_BAD_ARGUMENT (real behaviour unconfirmed); hv_vm_map requires 16 KiB
 * alignment like Apple silicon.
 *
 * Build: gcc -shared -fPIC -O2 -o libhvfsim.so hvfsim.c -lunicorn -lpthread
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unicorn/unicorn.h>

typedef int32_t hv_return_t;
typedef uint64_t hv_vcpu_t;
typedef uint64_t hv_ipa_t;

#define HV_SUCCESS 0
#define HV_ERROR ((hv_return_t)0xfae94001)
#define HV_BUSY ((hv_return_t)0xfae94002)
#define HV_BAD_ARGUMENT ((hv_return_t)0xfae94003)
#define HV_NO_RESOURCES ((hv_return_t)0xfae94005)
#define HV_NO_DEVICE ((hv_return_t)0xfae94006)
#define HV_DENIED ((hv_return_t)0xfae94007)
#define HV_UNSUPPORTED ((hv_return_t)0xfae9400f)

enum { HV_EXIT_REASON_CANCELED = 0, HV_EXIT_REASON_EXCEPTION = 1, HV_EXIT_REASON_VTIMER_ACTIVATED = 2,
       HV_EXIT_REASON_UNKNOWN = 3 };

/* hv_vcpu_exit_t, SDK15.0/hv_vcpu_types.h: 32 bytes. */
typedef struct {
    uint32_t reason;
    struct {
        uint64_t syndrome;
        uint64_t virtual_address;
        uint64_t physical_address;
    } exception;
} hv_vcpu_exit_t;

#define HV_MEMORY_READ 1
#define HV_MEMORY_WRITE 2
#define HV_MEMORY_EXEC 4

#define PAGE_16K 0x4000ULL
#define MAX_VCPUS 8
#define MAX_REGIONS 16
#define SPI_BASE 32
#define SPI_COUNT 988
#define GIC_DIST_SIZE 0x10000ULL
#define GIC_REDIST_SIZE 0x20000ULL
#define GIC_ALIGN 0x10000ULL

/* Simulated timebase: 24 MHz like M1 (numer/denom converts ticks to ns). */
#define TB_NUMER 125
#define TB_DENOM 3
#define CNTFRQ 24000000ULL

struct region { void *host; hv_ipa_t ipa; size_t size; uint64_t flags; };

struct vcpu {
    bool used;
    pthread_t owner;
    uc_engine *uc;
    hv_vcpu_exit_t exit;
    atomic_bool cancel;
    /* what a hook saw during the current uc_emu_start */
    int trap;               /* TRAP_* */
    uint64_t trap_syndrome, trap_va, trap_pc;
    bool timer_changed;
    /* simulated generic timer and framework state */
    uint64_t cntv_ctl, cntv_cval, vtimer_offset;
    bool vtimer_masked;
    uint64_t mpidr, id_aa64pfr0;
    bool mpidr_set, pfr0_set;
    uint32_t ppi_pending;   /* GICR_ISPENDR0 writes */
    uc_hook hooks[6];
};

enum { TRAP_NONE, TRAP_EXCEPTION, TRAP_RESTART };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool vm_created;
static uint32_t vm_ipa_bits = 36;
static struct region regions[MAX_REGIONS];
static int nregions;
static struct vcpu vcpus[MAX_VCPUS];
static __thread int thread_vcpu = -1;
static bool gic_created;
static hv_ipa_t gic_dist_base, gic_redist_base;
static atomic_bool spi_level[SPI_BASE + SPI_COUNT];

/* ---- libSystem stand-ins ------------------------------------------------------------------------ */

typedef struct { uint32_t numer, denom; } mach_timebase_info_data_t;

uint64_t mach_absolute_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    return ns / TB_NUMER * TB_DENOM + (ns % TB_NUMER) * TB_DENOM / TB_NUMER;
}

int mach_timebase_info(mach_timebase_info_data_t *info) {
    info->numer = TB_NUMER;
    info->denom = TB_DENOM;
    return 0;
}

/* OS objects are plain malloc'd structs here. */
void os_release(void *object) { free(object); }

/* ---- VM ----------------------------------------------------------------------------------------- */

struct hv_vm_config_s { uint32_t ipa_bits; };
typedef struct hv_vm_config_s *hv_vm_config_t;

hv_vm_config_t hv_vm_config_create(void) {
    hv_vm_config_t c = calloc(1, sizeof *c);
    c->ipa_bits = 36;
    return c;
}

hv_return_t hv_vm_config_get_max_ipa_size(uint32_t *bits) { *bits = 40; return HV_SUCCESS; }
hv_return_t hv_vm_config_get_default_ipa_size(uint32_t *bits) { *bits = 36; return HV_SUCCESS; }

hv_return_t hv_vm_config_set_ipa_size(hv_vm_config_t c, uint32_t bits) {
    if (c == NULL || bits < 32 || bits > 40) return HV_BAD_ARGUMENT;
    c->ipa_bits = bits;
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_get_ipa_size(hv_vm_config_t c, uint32_t *bits) {
    if (c == NULL) return HV_BAD_ARGUMENT;
    *bits = c->ipa_bits;
    return HV_SUCCESS;
}

hv_return_t hv_vm_create(hv_vm_config_t config) {
    pthread_mutex_lock(&lock);
    hv_return_t r = HV_SUCCESS;
    if (vm_created) {
        r = HV_BUSY; /* one VM per process */
    } else {
        vm_created = true;
        vm_ipa_bits = config ? config->ipa_bits : 36;
        nregions = 0;
        gic_created = false;
        for (int i = 0; i < SPI_BASE + SPI_COUNT; i++) atomic_store(&spi_level[i], false);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

hv_return_t hv_vm_destroy(void) {
    pthread_mutex_lock(&lock);
    hv_return_t r = HV_SUCCESS;
    for (int i = 0; i < MAX_VCPUS; i++) if (vcpus[i].used) r = HV_BUSY;
    if (!vm_created) r = HV_BAD_ARGUMENT;
    if (r == HV_SUCCESS) vm_created = false;
    pthread_mutex_unlock(&lock);
    return r;
}

static int prot_of(uint64_t flags) {
    return (flags & HV_MEMORY_READ ? UC_PROT_READ : 0) | (flags & HV_MEMORY_WRITE ? UC_PROT_WRITE : 0)
         | (flags & HV_MEMORY_EXEC ? UC_PROT_EXEC : 0);
}

hv_return_t hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, uint64_t flags) {
    if (((uintptr_t)addr % PAGE_16K) || ipa % PAGE_16K || size == 0 || size % PAGE_16K || (flags & ~7ULL))
        return HV_BAD_ARGUMENT;
    pthread_mutex_lock(&lock);
    hv_return_t r = HV_SUCCESS;
    if (!vm_created) r = HV_BAD_ARGUMENT;
    else if (ipa + size > (1ULL << vm_ipa_bits) || nregions == MAX_REGIONS) r = HV_BAD_ARGUMENT;
    for (int i = 0; r == HV_SUCCESS && i < nregions; i++)
        if (ipa < regions[i].ipa + regions[i].size && regions[i].ipa < ipa + size) r = HV_BAD_ARGUMENT;
    if (r == HV_SUCCESS) {
        regions[nregions++] = (struct region){addr, ipa, size, flags};
        for (int i = 0; i < MAX_VCPUS; i++)
            if (vcpus[i].used) uc_mem_map_ptr(vcpus[i].uc, ipa, size, prot_of(flags), addr);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

hv_return_t hv_vm_unmap(hv_ipa_t ipa, size_t size) {
    pthread_mutex_lock(&lock);
    hv_return_t r = HV_BAD_ARGUMENT;
    for (int i = 0; i < nregions; i++) {
        if (regions[i].ipa == ipa && regions[i].size == size) {
            for (int v = 0; v < MAX_VCPUS; v++) if (vcpus[v].used) uc_mem_unmap(vcpus[v].uc, ipa, size);
            regions[i] = regions[--nregions];
            r = HV_SUCCESS;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return r;
}

/* ---- instruction decoding (what hardware puts in the syndrome) ---------------------------------- */

#define EC_SHIFT 26
#define IL (1ULL << 25)

static uint32_t fetch(struct vcpu *v, uint64_t pc) {
    uint32_t insn = 0;
    uc_mem_read(v->uc, pc, &insn, 4);
    return insn;
}

/*
 * The data-abort ISS hardware reports for the load/store `insn`. ISV is set only for single general-purpose
 * register loads/stores without writeback (Arm ARM: "ISV is 0 for ... instructions with writeback, LDP/STP,
 * SIMD&FP"): unsigned offset, unscaled (LDUR/STUR) and register offset forms.
 */
static uint64_t data_abort_iss(uint32_t insn, bool write) {
    uint64_t iss = 0x07 | (write ? 1ULL << 6 : 0); /* DFSC: translation fault, level 3 */
    bool ldst = (insn & 0x3f000000u) == 0x39000000u      /* unsigned offset */
             || (insn & 0x3f200c00u) == 0x38000000u      /* unscaled (LDUR/STUR) */
             || (insn & 0x3f200c00u) == 0x38200800u;     /* register offset */
    if (!ldst) return iss;
    uint32_t size = insn >> 30, opc = (insn >> 22) & 3, rt = insn & 31;
    bool load = opc != 0;
    if (load == write) return iss;                  /* not the access that faulted */
    if (opc == 2 && size == 3) return iss;          /* PRFM */
    if (opc == 3 && size >= 2) return iss;          /* unallocated */
    bool sse = opc >= 2;
    bool sf = size == 3 || opc == 2;
    return iss | 1ULL << 24 | (uint64_t)size << 22 | (sse ? 1ULL << 21 : 0) | (uint64_t)rt << 16 | (sf ? 1ULL << 15 : 0);
}

static uint64_t counter(struct vcpu *v) { return mach_absolute_time() - v->vtimer_offset; }

static bool timer_condition(struct vcpu *v) {
    return (v->cntv_ctl & 1) && !(v->cntv_ctl & 2) && counter(v) >= v->cntv_cval;
}

static uint64_t cntv_ctl_read(struct vcpu *v) {
    uint64_t ctl = v->cntv_ctl & 3;
    if ((ctl & 1) && counter(v) >= v->cntv_cval) ctl |= 4; /* ISTATUS */
    return ctl;
}

/* ---- hooks ---------------------------------------------------------------------------------------- */

static void stop_with(struct vcpu *v, uint64_t syndrome, uint64_t va, uint64_t pc) {
    if (v->trap != TRAP_NONE) return;
    v->trap = TRAP_EXCEPTION;
    v->trap_syndrome = syndrome;
    v->trap_va = va;
    v->trap_pc = pc;
    uc_emu_stop(v->uc);
}

static void hook_code(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    struct vcpu *v = user;
    /* Per-instruction hook: keeps PC exact for memory faults, and notices a cancel that raced uc_emu_start. */
    if (atomic_load_explicit(&v->cancel, memory_order_relaxed)) uc_emu_stop(uc);
}

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t address, int size, int64_t value, void *user) {
    struct vcpu *v = user;
    uint64_t pc;
    uc_reg_read(uc, UC_ARM64_REG_PC, &pc);
    if (type == UC_MEM_FETCH_UNMAPPED || type == UC_MEM_FETCH_PROT) {
        stop_with(v, 0x20ULL << EC_SHIFT | IL | 0x07, address, address);
    } else {
        bool write = type == UC_MEM_WRITE_UNMAPPED || type == UC_MEM_WRITE_PROT;
        stop_with(v, 0x24ULL << EC_SHIFT | IL | data_abort_iss(fetch(v, pc), write), address, pc);
    }
    return false;
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *user) {
    struct vcpu *v = user;
    uint64_t pc;
    uc_reg_read(uc, UC_ARM64_REG_PC, &pc);
    if (intno == 13) { /* EXCP_SMC: PC is past the SMC; HVF reports it at the SMC */
        stop_with(v, 0x17ULL << EC_SHIFT | IL | (fetch(v, pc - 4) >> 5 & 0xffff), 0, pc - 4);
        return;
    }
    if (intno == 11) { /* EXCP_HVC: PC is already the preferred return address */
        stop_with(v, 0x16ULL << EC_SHIFT | IL | (fetch(v, pc - 4) >> 5 & 0xffff), 0, pc);
        return;
    }
    /* Without EL2/EL3 Unicorn raises UNDEF for HVC and SMC at the instruction. */
    uint32_t insn = fetch(v, pc);
    if ((insn & 0xffe0001fu) == 0xd4000002u) stop_with(v, 0x16ULL << EC_SHIFT | IL | (insn >> 5 & 0xffff), 0, pc + 4);
    else if ((insn & 0xffe0001fu) == 0xd4000003u) stop_with(v, 0x17ULL << EC_SHIFT | IL | (insn >> 5 & 0xffff), 0, pc);
    else stop_with(v, IL, 0, pc); /* EC 0: what real HVF would deliver to the guest */
}

#define SYSKEY(op0, op1, crn, crm, op2) ((op0) << 14 | (op1) << 11 | (crn) << 7 | (crm) << 3 | (op2))
#define K_CNTFRQ SYSKEY(3, 3, 14, 0, 0)
#define K_CNTVCT SYSKEY(3, 3, 14, 0, 2)
#define K_CNTV_TVAL SYSKEY(3, 3, 14, 3, 0)
#define K_CNTV_CTL SYSKEY(3, 3, 14, 3, 1)
#define K_CNTV_CVAL SYSKEY(3, 3, 14, 3, 2)
#define K_MPIDR SYSKEY(3, 0, 0, 0, 5)
#define K_PFR0 SYSKEY(3, 0, 0, 4, 0)

static bool trapped(const uc_arm64_cp_reg *c) {
    if (c->op0 == 2) return true;                                    /* debug, OS lock */
    if (c->op0 != 3) return false;
    if (c->crn == 9 && c->crm >= 12) return true;                    /* PMU */
    if (c->op1 == 0 && c->crn == 12 && c->crm >= 8) return true;     /* ICC_* */
    if (c->op1 == 0 && c->crn == 4 && c->crm == 6) return true;      /* ICC_PMR_EL1 */
    if (c->crn == 11 || c->crn == 15) return true;                   /* IMPLEMENTATION DEFINED */
    return false;
}

static uint32_t hook_sys(uc_engine *uc, uc_arm64_reg reg, const uc_arm64_cp_reg *c, void *user, bool read) {
    struct vcpu *v = user;
    uint32_t key = SYSKEY(c->op0, c->op1, c->crn, c->crm, c->op2);
    uint64_t pc, val = 0;
    uc_reg_read(uc, UC_ARM64_REG_PC, &pc);
    bool handled = true;
    if (read) {
        switch (key) {
        case K_CNTFRQ: val = CNTFRQ; break;
        case K_CNTVCT: val = counter(v); break;
        case K_CNTV_CTL: val = cntv_ctl_read(v); break;
        case K_CNTV_CVAL: val = v->cntv_cval; break;
        case K_CNTV_TVAL: val = (uint64_t)(int64_t)(int32_t)(uint32_t)(v->cntv_cval - counter(v)); break;
        case K_MPIDR: if (v->mpidr_set) { val = v->mpidr | 1ULL << 31; break; } handled = false; break;
        case K_PFR0: if (v->pfr0_set) { val = v->id_aa64pfr0; break; } handled = false; break;
        default: handled = false;
        }
        if (handled && reg != UC_ARM64_REG_XZR) uc_reg_write(uc, reg, &val);
    } else {
        if (reg != UC_ARM64_REG_XZR) uc_reg_read(uc, reg, &val);
        switch (key) {
        case K_CNTV_CTL: v->cntv_ctl = val & 3; v->timer_changed = true; break;
        case K_CNTV_CVAL: v->cntv_cval = val; v->timer_changed = true; break;
        case K_CNTV_TVAL: v->cntv_cval = counter(v) + (uint64_t)(int64_t)(int32_t)val; v->timer_changed = true; break;
        default: handled = false;
        }
        if (handled) uc_emu_stop(uc); /* re-evaluate the timer deadline */
    }
    if (handled) return 1;
    if (!trapped(c)) return 0;
    /* ESR_EL2 ISS for EC 0x18: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5], CRm [4:1], Dir [0]. */
    uint32_t rt = reg == UC_ARM64_REG_XZR ? 31 : fetch(v, pc) & 31;
    uint64_t iss = (uint64_t)c->op0 << 20 | (uint64_t)c->op2 << 17 | (uint64_t)c->op1 << 14 | (uint64_t)c->crn << 10
                 | rt << 5 | (uint64_t)c->crm << 1 | (read ? 1 : 0);
    stop_with(v, 0x18ULL << EC_SHIFT | IL | iss, 0, pc);
    return 1;
}

static uint32_t hook_mrs(uc_engine *uc, uc_arm64_reg reg, const uc_arm64_cp_reg *c, void *user) {
    return hook_sys(uc, reg, c, user, true);
}

static uint32_t hook_msr(uc_engine *uc, uc_arm64_reg reg, const uc_arm64_cp_reg *c, void *user) {
    return hook_sys(uc, reg, c, user, false);
}

/* ---- vCPUs ------------------------------------------------------------------------------------------ */

static struct vcpu *owned(hv_vcpu_t id) {
    if (id >= MAX_VCPUS || !vcpus[id].used || thread_vcpu != (int)id) return NULL;
    return &vcpus[id];
}

hv_return_t hv_vm_get_max_vcpu_count(uint32_t *count) { *count = MAX_VCPUS; return HV_SUCCESS; }

hv_return_t hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, void *config) {
    if (vcpu == NULL || exit == NULL || config != NULL) return HV_BAD_ARGUMENT;
    if (thread_vcpu >= 0) return HV_BUSY; /* one vCPU per thread */
    pthread_mutex_lock(&lock);
    int id = -1;
    for (int i = 0; vm_created && i < MAX_VCPUS; i++) if (!vcpus[i].used) { id = i; break; }
    if (id < 0) { pthread_mutex_unlock(&lock); return vm_created ? HV_NO_RESOURCES : HV_BAD_ARGUMENT; }
    struct vcpu *v = &vcpus[id];
    memset(v, 0, sizeof *v);
    if (uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &v->uc) != UC_ERR_OK) { pthread_mutex_unlock(&lock); return HV_ERROR; }
    for (int i = 0; i < nregions; i++)
        uc_mem_map_ptr(v->uc, regions[i].ipa, regions[i].size, prot_of(regions[i].flags), regions[i].host);
    uc_hook_add(v->uc, &v->hooks[0], UC_HOOK_CODE, hook_code, v, 1, 0);
    uc_hook_add(v->uc, &v->hooks[1], UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT, hook_unmapped, v, 1, 0);
    uc_hook_add(v->uc, &v->hooks[2], UC_HOOK_INTR, hook_intr, v, 1, 0);
    uc_hook_add(v->uc, &v->hooks[3], UC_HOOK_INSN, hook_mrs, v, 1, 0, UC_ARM64_INS_MRS);
    uc_hook_add(v->uc, &v->hooks[4], UC_HOOK_INSN, hook_msr, v, 1, 0, UC_ARM64_INS_MSR);
    v->used = true;
    v->owner = pthread_self();
    thread_vcpu = id;
    *vcpu = id;
    *exit = &v->exit;
    pthread_mutex_unlock(&lock);
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_destroy(hv_vcpu_t id) {
    struct vcpu *v = owned(id);
    if (v == NULL) return HV_BAD_ARGUMENT;
    pthread_mutex_lock(&lock);
    uc_close(v->uc);
    v->uc = NULL;
    v->used = false;
    thread_vcpu = -1;
    pthread_mutex_unlock(&lock);
    return HV_SUCCESS;
}

hv_return_t hv_vcpus_exit(hv_vcpu_t *ids, uint32_t count) {
    if (ids == NULL) return HV_BAD_ARGUMENT;
    pthread_mutex_lock(&lock); /* keeps uc alive against a concurrent destroy */
    hv_return_t r = HV_SUCCESS;
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] >= MAX_VCPUS || !vcpus[ids[i]].used) { r = HV_BAD_ARGUMENT; continue; }
        atomic_store(&vcpus[ids[i]].cancel, true);
        uc_emu_stop(vcpus[ids[i]].uc);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

static void set_exception(struct vcpu *v, uint64_t syndrome, uint64_t va) {
    v->exit.reason = HV_EXIT_REASON_EXCEPTION;
    v->exit.exception.syndrome = syndrome;
    v->exit.exception.virtual_address = va;
    v->exit.exception.physical_address = va;
}

hv_return_t hv_vcpu_run(hv_vcpu_t id) {
    struct vcpu *v = owned(id);
    if (v == NULL) return HV_BAD_ARGUMENT;
    memset(&v->exit, 0, sizeof v->exit);
    for (;;) {
        if (atomic_exchange(&v->cancel, false)) {
            v->exit.reason = HV_EXIT_REASON_CANCELED;
            return HV_SUCCESS;
        }
        if (!v->vtimer_masked && timer_condition(v)) {
            v->vtimer_masked = true; /* the exit masks the vtimer */
            v->exit.reason = HV_EXIT_REASON_VTIMER_ACTIVATED;
            return HV_SUCCESS;
        }
        uint64_t timeout_us = 0;
        if (!v->vtimer_masked && (v->cntv_ctl & 3) == 1) {
            uint64_t ticks = v->cntv_cval - counter(v);
            timeout_us = ticks / (CNTFRQ / 1000000) + 1;
        }
        uint64_t pc;
        uc_reg_read(v->uc, UC_ARM64_REG_PC, &pc);
        v->trap = TRAP_NONE;
        v->timer_changed = false;
        uc_err err = uc_emu_start(v->uc, pc, UINT64_MAX, timeout_us, 0);
        if (v->trap == TRAP_EXCEPTION) {
            uc_reg_write(v->uc, UC_ARM64_REG_PC, &v->trap_pc);
            set_exception(v, v->trap_syndrome, v->trap_va);
            return HV_SUCCESS;
        }
        uc_reg_read(v->uc, UC_ARM64_REG_PC, &pc);
        if (err != UC_ERR_OK) {
            v->exit.reason = HV_EXIT_REASON_UNKNOWN;
            v->exit.exception.syndrome = err;
            return HV_SUCCESS;
        }
        if (v->timer_changed || atomic_load(&v->cancel)) continue;
        size_t timed_out = 0;
        uc_query(v->uc, UC_QUERY_TIMEOUT, &timed_out);
        if (timed_out) continue;
        /* Unicorn ends emulation after a WFI/WFE with PC past it; HVF reports the instruction itself. */
        uint32_t insn = fetch(v, pc - 4);
        if (insn == 0xd503207fu || insn == 0xd503205fu) {
            pc -= 4;
            uc_reg_write(v->uc, UC_ARM64_REG_PC, &pc);
            set_exception(v, 0x01ULL << EC_SHIFT | IL | (insn == 0xd503205fu ? 1 : 0), 0);
            return HV_SUCCESS;
        }
        /* Any other stop (a WFI Unicorn turned into a halt elsewhere, an emulator-internal stop): re-enter. */
    }
}

static int uc_reg_of(uint32_t reg) {
    if (reg <= 28) return UC_ARM64_REG_X0 + reg;
    switch (reg) {
    case 29: return UC_ARM64_REG_X29;
    case 30: return UC_ARM64_REG_X30;
    case 31: return UC_ARM64_REG_PC;
    case 32: return UC_ARM64_REG_FPCR;
    case 33: return UC_ARM64_REG_FPSR;
    case 34: return UC_ARM64_REG_PSTATE;
    default: return -1;
    }
}

hv_return_t hv_vcpu_get_reg(hv_vcpu_t id, uint32_t reg, uint64_t *value) {
    struct vcpu *v = owned(id);
    int r = uc_reg_of(reg);
    if (v == NULL || r < 0 || value == NULL) return HV_BAD_ARGUMENT;
    *value = 0;
    return uc_reg_read(v->uc, r, value) == UC_ERR_OK ? HV_SUCCESS : HV_ERROR;
}

hv_return_t hv_vcpu_set_reg(hv_vcpu_t id, uint32_t reg, uint64_t value) {
    struct vcpu *v = owned(id);
    int r = uc_reg_of(reg);
    if (v == NULL || r < 0) return HV_BAD_ARGUMENT;
    return uc_reg_write(v->uc, r, &value) == UC_ERR_OK ? HV_SUCCESS : HV_ERROR;
}

static uc_arm64_cp_reg cp_of(uint16_t enc) {
    return (uc_arm64_cp_reg){.op0 = enc >> 14, .op1 = enc >> 11 & 7, .crn = enc >> 7 & 15, .crm = enc >> 3 & 15,
                             .op2 = enc & 7};
}

hv_return_t hv_vcpu_get_sys_reg(hv_vcpu_t id, uint32_t reg, uint64_t *value) {
    struct vcpu *v = owned(id);
    if (v == NULL || value == NULL || reg > 0xffff) return HV_BAD_ARGUMENT;
    switch (reg) {
    case K_CNTV_CTL: *value = cntv_ctl_read(v); return HV_SUCCESS;
    case K_CNTV_CVAL: *value = v->cntv_cval; return HV_SUCCESS;
    case K_MPIDR: *value = v->mpidr; return HV_SUCCESS;
    case K_PFR0: if (v->pfr0_set) { *value = v->id_aa64pfr0; return HV_SUCCESS; } break;
    case 0xc208: return uc_reg_read(v->uc, UC_ARM64_REG_SP_EL0, value) ? HV_ERROR : HV_SUCCESS;
    case 0xe208: return uc_reg_read(v->uc, UC_ARM64_REG_SP_EL1, value) ? HV_ERROR : HV_SUCCESS;
    }
    uc_arm64_cp_reg c = cp_of(reg);
    if (uc_reg_read(v->uc, UC_ARM64_REG_CP_REG, &c) != UC_ERR_OK) return HV_BAD_ARGUMENT;
    *value = c.val;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_sys_reg(hv_vcpu_t id, uint32_t reg, uint64_t value) {
    struct vcpu *v = owned(id);
    if (v == NULL || reg > 0xffff) return HV_BAD_ARGUMENT;
    switch (reg) {
    case K_CNTV_CTL: v->cntv_ctl = value & 3; return HV_SUCCESS;
    case K_CNTV_CVAL: v->cntv_cval = value; return HV_SUCCESS;
    case K_MPIDR: v->mpidr = value & 0xff00ffffffULL; v->mpidr_set = true; return HV_SUCCESS;
    case K_PFR0: v->id_aa64pfr0 = value; v->pfr0_set = true; return HV_SUCCESS;
    case 0xc208: return uc_reg_write(v->uc, UC_ARM64_REG_SP_EL0, &value) ? HV_ERROR : HV_SUCCESS;
    case 0xe208: return uc_reg_write(v->uc, UC_ARM64_REG_SP_EL1, &value) ? HV_ERROR : HV_SUCCESS;
    }
    uc_arm64_cp_reg c = cp_of(reg);
    c.val = value;
    return uc_reg_write(v->uc, UC_ARM64_REG_CP_REG, &c) == UC_ERR_OK ? HV_SUCCESS : HV_BAD_ARGUMENT;
}

hv_return_t hv_vcpu_get_vtimer_mask(hv_vcpu_t id, bool *masked) {
    struct vcpu *v = owned(id);
    if (v == NULL || masked == NULL) return HV_BAD_ARGUMENT;
    *masked = v->vtimer_masked;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_vtimer_mask(hv_vcpu_t id, bool masked) {
    struct vcpu *v = owned(id);
    if (v == NULL) return HV_BAD_ARGUMENT;
    v->vtimer_masked = masked;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_get_vtimer_offset(hv_vcpu_t id, uint64_t *offset) {
    struct vcpu *v = owned(id);
    if (v == NULL || offset == NULL) return HV_BAD_ARGUMENT;
    *offset = v->vtimer_offset;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_vtimer_offset(hv_vcpu_t id, uint64_t offset) {
    struct vcpu *v = owned(id);
    if (v == NULL) return HV_BAD_ARGUMENT;
    v->vtimer_offset = offset;
    return HV_SUCCESS;
}

/* ---- GIC (macOS 15+) --------------------------------------------------------------------------------- */

struct hv_gic_config_s { hv_ipa_t dist, redist; bool dist_set, redist_set; };
typedef struct hv_gic_config_s *hv_gic_config_t;

hv_gic_config_t hv_gic_config_create(void) { return calloc(1, sizeof(struct hv_gic_config_s)); }

hv_return_t hv_gic_config_set_distributor_base(hv_gic_config_t c, hv_ipa_t base) {
    if (c == NULL || base % GIC_ALIGN) return HV_BAD_ARGUMENT;
    c->dist = base;
    c->dist_set = true;
    return HV_SUCCESS;
}

hv_return_t hv_gic_config_set_redistributor_base(hv_gic_config_t c, hv_ipa_t base) {
    if (c == NULL || base % GIC_ALIGN) return HV_BAD_ARGUMENT;
    c->redist = base;
    c->redist_set = true;
    return HV_SUCCESS;
}

hv_return_t hv_gic_get_distributor_size(size_t *s) { *s = GIC_DIST_SIZE; return HV_SUCCESS; }
hv_return_t hv_gic_get_distributor_base_alignment(size_t *s) { *s = GIC_ALIGN; return HV_SUCCESS; }
hv_return_t hv_gic_get_redistributor_region_size(size_t *s) { *s = GIC_REDIST_SIZE * MAX_VCPUS; return HV_SUCCESS; }
hv_return_t hv_gic_get_redistributor_size(size_t *s) { *s = GIC_REDIST_SIZE; return HV_SUCCESS; }
hv_return_t hv_gic_get_redistributor_base_alignment(size_t *s) { *s = GIC_ALIGN; return HV_SUCCESS; }

hv_return_t hv_gic_get_spi_interrupt_range(uint32_t *base, uint32_t *count) {
    *base = SPI_BASE;
    *count = SPI_COUNT;
    return HV_SUCCESS;
}

hv_return_t hv_gic_create(hv_gic_config_t c) {
    pthread_mutex_lock(&lock);
    hv_return_t r = HV_SUCCESS;
    bool any_vcpu = false;
    for (int i = 0; i < MAX_VCPUS; i++) any_vcpu |= vcpus[i].used;
    if (!vm_created || any_vcpu) r = HV_BAD_ARGUMENT;     /* after the VM, before any vCPU */
    else if (gic_created) r = HV_BUSY;
    else if (c == NULL || !c->dist_set || !c->redist_set) r = HV_BAD_ARGUMENT;
    else if (c->dist < c->redist + GIC_REDIST_SIZE * MAX_VCPUS && c->redist < c->dist + GIC_DIST_SIZE) r = HV_BAD_ARGUMENT;
    if (r == HV_SUCCESS) {
        gic_created = true;
        gic_dist_base = c->dist;
        gic_redist_base = c->redist;
    }
    pthread_mutex_unlock(&lock);
    return r;
}

hv_return_t hv_gic_set_spi(uint32_t intid, bool level) {
    if (!gic_created || intid < SPI_BASE || intid >= SPI_BASE + SPI_COUNT) return HV_BAD_ARGUMENT;
    atomic_store(&spi_level[intid], level);
    return HV_SUCCESS;
}

hv_return_t hv_gic_set_redistributor_reg(hv_vcpu_t id, uint32_t reg, uint64_t value) {
    struct vcpu *v = owned(id);
    if (v == NULL || !gic_created) return HV_BAD_ARGUMENT;
    if (reg == 0x10200) v->ppi_pending |= (uint32_t)value;       /* GICR_ISPENDR0 */
    else if (reg == 0x10280) v->ppi_pending &= ~(uint32_t)value; /* GICR_ICPENDR0 */
    return HV_SUCCESS;
}

hv_return_t hv_gic_get_redistributor_reg(hv_vcpu_t id, uint32_t reg, uint64_t *value) {
    struct vcpu *v = owned(id);
    if (v == NULL || !gic_created || value == NULL) return HV_BAD_ARGUMENT;
    *value = (reg == 0x10200 || reg == 0x10280) ? v->ppi_pending : 0;
    return HV_SUCCESS;
}

/* ---- test inspection (not part of Hypervisor.framework) --------------------------------------------- */

/** The level hv_gic_set_spi last set for `intid`, or -1 outside the SPI range. */
int hvsim_spi_level(uint32_t intid) {
    if (intid < SPI_BASE || intid >= SPI_BASE + SPI_COUNT) return -1;
    return atomic_load(&spi_level[intid]);
}

/** Whether vCPU `id`'s vtimer is masked (1), unmasked (0), or -1 if it does not exist. Racy by design: a snapshot. */
int hvsim_vtimer_masked(uint64_t id) {
    if (id >= MAX_VCPUS || !vcpus[id].used) return -1;
    return vcpus[id].vtimer_masked;
}

/** The PPI/SGI pending bits written to vCPU `id`'s GICR_ISPENDR0 (and not cleared), or -1 if it does not exist. */
int64_t hvsim_ppi_pending(uint64_t id) {
    if (id >= MAX_VCPUS || !vcpus[id].used) return -1;
    return vcpus[id].ppi_pending;
}
