// PSCI through both conduits and a second vCPU: PSCI_VERSION by HVC and by SMC (the SMC must not re-execute:
// the test counts the calls), CPU_ON of the vCPU with MPIDR 1 at `secondary` with context 0x5a5a, and a wait
// on a RAM flag the secondary sets. The secondary reports X0 (its context ID) and its MPIDR_EL1 through the
// probe, sets the flag and calls CPU_OFF. vCPU 0 then reports and powers the machine off.
    .include "image.inc"
    image_header
entry:
    ldr     x9, =PROBE
    ldr     x0, =PSCI_VERSION
    hvc     #0
    str     x0, [x9, #0x500]
    ldr     x0, =PSCI_VERSION
    smc     #0
    str     x0, [x9, #0x508]

    ldr     x0, =PSCI_CPU_ON_64
    mov     x1, #1
    adr     x2, secondary
    mov     x3, #0x5a5a
    hvc     #0
    str     x0, [x9, #0x510]
    adr     x10, flag
1:  ldr     x11, [x10]
    cbz     x11, 1b
    str     x11, [x9, #0x518]
    system_off

secondary:
    ldr     x9, =PROBE
    str     x0, [x9, #0x600]
    mrs     x1, mpidr_el1
    str     x1, [x9, #0x608]
    adr     x10, flag
    mov     x11, #0x77
    str     x11, [x10]
    ldr     x0, =PSCI_CPU_OFF
    hvc     #0
    b       .
    .ltorg
    .balign 8
flag:
    .quad   0
image_end:
