// Parks forever: the virtual timer stays off, so only a kick (the VMM stopping the machine) ends the WFI.
// Announces the wait with a probe write at 0x330 first.
    .include "image.inc"
    image_header
entry:
    ldr     x9, =PROBE
    str     xzr, [x9, #0x330]
1:  wfi
    b       1b
    .ltorg
image_end:
