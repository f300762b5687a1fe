// A trapped system register (PMCR_EL0 reads as zero, an OSLAR_EL1 write is ignored), then two WFIs:
// one woken by the virtual timer (CNTV_CVAL_EL0 = now + CNTFRQ/16), one by an interrupt line the test raises
// once the guest announces the wait (a probe write at 0x330; the probe's register 0x400 reads non-zero from
// then on). Spurious wake-ups
// are allowed: each WFI sits in a loop that re-checks its condition. Ends with PSCI SYSTEM_OFF.
    .include "image.inc"
    image_header
entry:
    ldr     x9, =PROBE
    ldr     x20, =0xdeadbeefcafef00d
    mrs     x20, pmcr_el0
    str     x20, [x9, #0x300]
    mov     x21, #1
    msr     oslar_el1, x21
    str     x21, [x9, #0x308]

    mrs     x1, cntfrq_el0
    mrs     x2, cntvct_el0
    lsr     x3, x1, #4
    add     x3, x2, x3
    msr     cntv_cval_el0, x3
    mov     x4, #1                  // ENABLE, not IMASK
    msr     cntv_ctl_el0, x4
    isb
1:  wfi
    mrs     x5, cntvct_el0
    cmp     x5, x3
    b.lo    1b
    msr     cntv_ctl_el0, xzr       // the guest clears the timer condition
    str     x1, [x9, #0x310]
    str     x3, [x9, #0x318]
    str     x5, [x9, #0x320]

    str     xzr, [x9, #0x330]
2:  wfi
    ldr     w6, [x9, #0x400]
    cbz     w6, 2b
    str     x6, [x9, #0x328]
    system_off
    .ltorg
image_end:
