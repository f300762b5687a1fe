// Entry of the freestanding C virtio test guest (guests/virtio/virtio_test.c at the repository root): the
// arm64 Image header, a stack, main(), then PSCI SYSTEM_OFF should main return. image_size is a fixed 1 MiB,
// which covers the code, data and stack below 0x40100000 (virtio.ld checks that the program leaves room).
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
