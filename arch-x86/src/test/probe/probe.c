/*
 * The boot-protocol probe: a tiny 64-bit guest that checks, from inside, what a loader following
 * Linux's x86 boot protocol (Documentation/arch/x86/boot.rst) and ACPI 6.x must have prepared, and
 * reports one line per check on COM1 followed by "PROBE: PASS" or "PROBE: FAIL <first failed check>".
 * Then it asks for a reset through the i8042 (port 0x64, command 0xfe), or leaves as probe.exit= says.
 *
 * The expected command line comes from the build (-DPROBE_CMDLINE="..."); the RAM size, CPU count and
 * the initrd's length and FNV-1a hash come from that command line (probe.mem=, probe.cpus=, probe.initrd=).
 * Integer code only: the KVM this runs on emulates every instruction and has no SSE.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#ifndef PROBE_CMDLINE
#error "build with -DPROBE_CMDLINE=\"...\""
#endif

extern char _init_size[], LOAD_ADDR[];

/* Compilers may emit calls to these even in freestanding code. */
void *memset(void *d, int c, unsigned long n) { u8 *p = d; while (n--) *p++ = (u8) c; return d; }
void *memcpy(void *d, const void *s, unsigned long n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

#define COM1 0x3f8
static void putch(char c) {
    while (!(inb(COM1 + 5) & 0x20)) { }   /* LSR.THRE */
    outb(COM1, (u8) c);
}
static void puts(const char *s) { while (*s) putch(*s++); }
static void puthex(u64 v) {
    puts("0x");
    for (int i = 60; i >= 0; i -= 4) putch("0123456789abcdef"[(v >> i) & 0xf]);
}

static u8 rd8(u64 a) { return *(volatile u8 *) a; }
static u16 rd16(u64 a) { return *(volatile u16 *) a; }
static u32 rd32(u64 a) { return *(volatile u32 *) a; }
static u64 rd64(u64 a) { return *(volatile u64 *) a; }

static int failures;
static const char *first_failure;

static void check(const char *what, int ok, u64 detail) {
    puts(ok ? "PROBE: ok   " : "PROBE: FAIL ");
    puts(what);
    if (!ok) { puts(" ("); puthex(detail); puts(")"); }
    puts("\n");
    if (!ok && !first_failure) first_failure = what;
    failures += !ok;
}

static int streq(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}
static u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }

/* The value of "key=" in the command line as a number (decimal, or hex with 0x); sets *found. */
static u64 param(const char *cmdline, const char *key, int *found, const char **rest) {
    u64 klen = slen(key);
    for (const char *p = cmdline; *p; p++) {
        if (p != cmdline && p[-1] != ' ') continue;
        u64 i = 0;
        while (i < klen && p[i] == key[i]) i++;
        if (i != klen) continue;
        const char *q = p + klen;
        u64 v = 0;
        int base = 10;
        if (q[0] == '0' && q[1] == 'x') { base = 16; q += 2; }
        for (;; q++) {
            int d;
            if (*q >= '0' && *q <= '9') d = *q - '0';
            else if (base == 16 && *q >= 'a' && *q <= 'f') d = *q - 'a' + 10;
            else break;
            v = v * base + d;
        }
        *found = 1;
        if (rest) *rest = q;
        return v;
    }
    *found = 0;
    return 0;
}

static int sums_to_zero(u64 a, u64 len) {
    u8 s = 0;
    for (u64 i = 0; i < len; i++) s += rd8(a + i);
    return s == 0;
}
static int sig(u64 a, const char *s) {
    for (int i = 0; s[i]; i++) if (rd8(a + i) != (u8) s[i]) return 0;
    return 1;
}

/* A whole ACPI table: its signature and length are sane and its bytes sum to zero. */
static int table_ok(u64 a, const char *signature) {
    if (a == 0 || a >= (4ULL << 30)) return 0;
    u32 len = rd32(a + 4);
    return sig(a, signature) && len >= 36 && len < 0x100000 && sums_to_zero(a, len);
}

#define E820_RAM 1
struct e820 { u64 addr, size; u32 type; } __attribute__((packed));

static int in_ram(struct e820 *m, int n, u64 start, u64 end) {
    for (int i = 0; i < n; i++) {
        if (m[i].type == E820_RAM && start >= m[i].addr && end <= m[i].addr + m[i].size) return 1;
    }
    return 0;
}

void probe_main(u64 bp, u64 running_at, u64 rflags, u64 cs, u64 linked_at) {
    int found;
    puts("PROBE: start\n");

    /* The entry state of the 64-bit boot protocol. */
    u64 cr0, cr4;
    u32 lo, hi;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000080));
    u64 efer = ((u64) hi << 32) | lo;
    check("long mode: CR0.PE and CR0.PG", (cr0 & 0x80000001) == 0x80000001, cr0);
    check("long mode: CR4.PAE", (cr4 & 0x20) != 0, cr4);
    check("long mode: EFER.LME and EFER.LMA", (efer & 0x500) == 0x500, efer);
    check("entry: interrupts disabled, RFLAGS bit 1 set", (rflags & 0x202) == 0x2, rflags);
    check("entry: CS is __BOOT_CS (0x10)", cs == 0x10, cs);
    check("entry: loaded at pref_address (relocatable, fits)", running_at == linked_at, running_at);

    /* The zero page: the kernel's header copied, the loader's fields set. */
    check("zero page: boot_flag 0xaa55 and HdrS", rd16(bp + 0x1fe) == 0xaa55 && sig(bp + 0x202, "HdrS"), rd16(bp + 0x1fe));
    check("zero page: header copied (version 2.15, pref_address, init_size, kernel_alignment)",
          rd16(bp + 0x206) == 0x020f && rd64(bp + 0x258) == (u64) LOAD_ADDR
          && rd32(bp + 0x260) == (u64) _init_size && rd32(bp + 0x230) == 0x200000 && rd8(bp + 0x234) == 1,
          rd16(bp + 0x206));
    check("zero page: type_of_loader 0xff", rd8(bp + 0x210) == 0xff, rd8(bp + 0x210));
    check("zero page: loadflags LOADED_HIGH and CAN_USE_HEAP, heap_end_ptr set",
          (rd8(bp + 0x211) & 0x81) == 0x81 && rd16(bp + 0x224) != 0, rd8(bp + 0x211));

    /* The command line. */
    u64 cmd = rd32(bp + 0x228) | ((u64) rd32(bp + 0x0c8) << 32);
    const char *cmdline = (const char *) cmd;
    check("cmdline: cmd_line_ptr set", cmd != 0, cmd);
    if (cmd == 0) cmdline = "";
    check("cmdline: equals the expected string", streq(cmdline, PROBE_CMDLINE), slen(cmdline));
    check("cmdline: no longer than cmdline_size", slen(cmdline) <= rd32(bp + 0x238), slen(cmdline));
    u64 mem = param(cmdline, "probe.mem=", &found, 0);
    int have_mem = found;
    u64 cpus = param(cmdline, "probe.cpus=", &found, 0);
    int have_cpus = found;
    const char *rest = 0;
    u64 initrd_len = param(cmdline, "probe.initrd=", &found, &rest);
    u64 initrd_hash = 0;
    if (found && *rest == ',') initrd_hash = param(rest + 1, "", &found, 0);
    check("cmdline: has probe.mem, probe.cpus and probe.initrd", have_mem && have_cpus && found, 0);

    /* The e820 map. */
    int n = rd8(bp + 0x1e8);
    struct e820 *map = (struct e820 *) (bp + 0x2d0);
    int sane = n >= 1 && n <= 128;
    u64 ram = 0, top = 0;
    for (int i = 0; sane && i < n; i++) {
        if (map[i].size == 0 || map[i].type < 1 || map[i].type > 5) sane = 0;
        if (i > 0 && map[i].addr < map[i - 1].addr + map[i - 1].size) sane = 0; /* sorted, no overlap */
        if (map[i].type == E820_RAM) {
            ram += map[i].size;
            if (map[i].addr + map[i].size > top) top = map[i].addr + map[i].size;
        }
    }
    check("e820: 1..128 entries, sorted, non-overlapping, known types", sane, n);
    u64 expected_top = mem <= (3ULL << 30) ? mem : mem + (1ULL << 30);
    check("e820: RAM ends where the configured size says (above the hole if > 3 GiB)", sane && top == expected_top, top);
    check("e820: RAM adds up to the configured size less at most 1 MiB", sane && ram <= mem && ram + (1 << 20) >= mem, ram);
    check("e820: zero page, kernel and command line lie in RAM",
          sane && in_ram(map, n, bp, bp + 4096) && in_ram(map, n, running_at - 0x200, running_at - 0x200 + (u64) _init_size)
          && in_ram(map, n, cmd, cmd + slen(cmdline) + 1), 0);

    /* The initrd. */
    u64 rd = rd32(bp + 0x218) | ((u64) rd32(bp + 0x0c0) << 32);
    u64 rdsize = rd32(bp + 0x21c) | ((u64) rd32(bp + 0x0c4) << 32);
    check("initrd: ramdisk_size matches", rdsize == initrd_len, rdsize);
    check("initrd: page aligned, above the kernel, below initrd_addr_max and in RAM",
          rd != 0 && (rd & 0xfff) == 0 && rd >= running_at - 0x200 + (u64) _init_size
          && rd + rdsize - 1 <= rd32(bp + 0x22c) && sane && in_ram(map, n, rd, rd + rdsize), rd);
    u32 h = 0x811c9dc5;                        /* FNV-1a, 32-bit */
    if (rd != 0 && rdsize == initrd_len) for (u64 i = 0; i < rdsize; i++) h = (h ^ rd8(rd + i)) * 0x01000193;
    check("initrd: content hash matches", rd != 0 && h == initrd_hash, h);

    /* ACPI. */
    u64 rsdp = rd64(bp + 0x070);
    check("acpi: acpi_rsdp_addr set", rsdp != 0, rsdp);
    int rsdp_ok = rsdp != 0 && sig(rsdp, "RSD PTR ") && sums_to_zero(rsdp, 20);
    check("acpi: RSDP signature and v1 checksum", rsdp_ok, rsdp);
    rsdp_ok = rsdp_ok && rd8(rsdp + 15) >= 2 && rd32(rsdp + 20) >= 36 && sums_to_zero(rsdp, rd32(rsdp + 20));
    check("acpi: RSDP revision 2 and extended checksum", rsdp_ok, rsdp);
    u64 scanned = 0;
    for (u64 a = 0xe0000; a < 0x100000 && !scanned; a += 16) {
        if (sig(a, "RSD PTR ") && sums_to_zero(a, 20)) scanned = a;
    }
    check("acpi: the BIOS-area scan finds the same RSDP", scanned != 0 && scanned == rsdp, scanned);
    u64 xsdt = rsdp_ok ? rd64(rsdp + 24) : 0;
    int xsdt_ok = table_ok(xsdt, "XSDT");
    check("acpi: XSDT checksum", xsdt_ok, xsdt);
    u64 fadt = 0, madt = 0;
    int tables_ok = xsdt_ok;
    for (u64 i = 0; xsdt_ok && i < (rd32(xsdt + 4) - 36) / 8; i++) {
        u64 t = rd64(xsdt + 36 + 8 * i);
        if (!table_ok(t, "")) tables_ok = 0;
        if (sig(t, "FACP")) fadt = t;
        if (sig(t, "APIC")) madt = t;
    }
    check("acpi: every table the XSDT lists has a valid checksum", tables_ok, 0);
    check("acpi: FADT present, hardware-reduced", fadt != 0 && table_ok(fadt, "FACP") && (rd32(fadt + 112) & (1u << 20)), fadt);
    u64 dsdt = 0;
    if (fadt) dsdt = rd32(fadt + 4) >= 148 && rd64(fadt + 140) ? rd64(fadt + 140) : rd32(fadt + 40);
    check("acpi: DSDT from FADT.X_DSDT has a valid checksum", table_ok(dsdt, "DSDT"), dsdt);
    u64 lapics = 0;
    if (madt && table_ok(madt, "APIC")) {
        for (u64 a = madt + 44; a + 2 <= madt + rd32(madt + 4) && rd8(a + 1) >= 2; a += rd8(a + 1)) {
            if (rd8(a) == 0 && (rd32(a + 4) & 1)) lapics++;
        }
    }
    check("acpi: MADT lists one enabled local APIC per configured CPU", madt && lapics == cpus, lapics);

    if (failures == 0) {
        puts("PROBE: PASS\n");
    } else {
        puts("PROBE: FAIL ");
        puts(first_failure);
        puts("\n");
    }
    /* How to leave, chosen by the test: probe.exit=1 ACPI S5 power-off, 2 a triple fault, else i8042 reset. */
    u64 how = param(cmdline, "probe.exit=", &found, 0);
    if (found && how == 1) {
        outb(0x600, (5 << 2) | 0x20);   /* FADT SLEEP_CONTROL_REG: SLP_TYP = \_S5_[0], SLP_EN */
    } else if (found && how == 2) {
        /* An empty IDT turns the #UD into #NP, #DF and then a shutdown (triple fault). */
        struct { u16 limit; u64 base; } __attribute__((packed)) idtr = { 0, 0 };
        __asm__ volatile("lidt %0; ud2" : : "m"(idtr));
    } else {
        outb(0x64, 0xfe);   /* pulse the reset line: jvmm ends the machine */
    }
}
