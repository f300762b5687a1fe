// Entry of the freestanding C virtio guest (virtio.c): the arm64 Image header, a stack, main(), then PSCI
// SYSTEM_OFF. image_size is a fixed 1 MiB, which covers the code, data and stack below 0x40100000.
    .include "image.inc"
    .section .text.head, "ax"
    .global _start
_start:
    b       entry
    .long   0
    .quad   0
    .quad   0x100000
    .quad   0xa
    .quad   0, 0, 0
    .ascii  "ARM\x64"
    .long   0
entry:
    ldr     x1, =0x40100000
    mov     sp, x1
    bl      main
    system_off
    .ltorg
