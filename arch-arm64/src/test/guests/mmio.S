// MMIO conformance: stores of 1, 2, 4 and 8 bytes from x0, x30 and xzr; loads of each size into x0, a middle
// and a high register, zero-extending (LDRB/LDRH/LDR W) and sign-extending (LDRSB/LDRSH/LDRSW), in the
// unsigned-offset, unscaled and register-offset forms. Every loaded register is then stored back to the probe,
// so the test sees exactly what the guest's registers held. The probe reads return 0xf1e2d3c4b5a69788 cut to
// the access size. Ends with PSCI SYSTEM_OFF.
    .include "image.inc"
    image_header
entry:
    ldr     x9, =PROBE
    ldr     x0, =0x1122334455667788
    ldr     x30, =0xa1b2c3d4e5f60718
    strb    w0, [x9, #0x10]
    strh    w30, [x9, #0x20]
    str     w30, [x9, #0x30]
    str     x30, [x9, #0x40]
    str     xzr, [x9, #0x48]
    stur    x0, [x9, #0x51]         // unscaled, unaligned
    mov     x5, #0x60
    str     x0, [x9, x5]            // register offset

    mov     x0, #-1
    mov     x17, #-1
    mov     x28, #-1
    mov     x30, #-1
    ldrb    w0, [x9, #0x100]
    ldrh    w17, [x9, #0x100]
    ldr     w28, [x9, #0x100]
    ldr     x30, [x9, #0x100]
    mov     x1, #-1
    mov     x2, #-1
    ldrsb   x1, [x9, #0x100]
    ldrsh   w2, [x9, #0x100]
    ldrsw   x3, [x9, #0x100]
    add     x12, x9, #0x100
    ldursh  x4, [x12, #1]           // unscaled, unaligned
    mov     x5, #0x100
    ldr     x6, [x9, x5]
    ldr     xzr, [x9, #0x100]       // a load to XZR changes nothing

    str     x0, [x9, #0x200]
    str     x17, [x9, #0x208]
    str     x28, [x9, #0x210]
    str     x30, [x9, #0x218]
    str     x1, [x9, #0x220]
    str     x2, [x9, #0x228]
    str     x3, [x9, #0x230]
    str     x4, [x9, #0x238]
    str     x6, [x9, #0x240]
    system_off
    .ltorg
image_end:
