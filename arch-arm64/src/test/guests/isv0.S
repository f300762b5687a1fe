// An MMIO access the VMM cannot emulate: LDP has no instruction syndrome (ISV = 0). jvmm must stop the machine
// with an error that says so, not crash or hang.
    .include "image.inc"
    image_header
entry:
    ldr     x9, =PROBE
    ldp     x0, x1, [x9]
    system_off
    .ltorg
image_end:
