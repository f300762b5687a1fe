// Exit-cost benchmark guest for the KVM arm64 backend: N iterations each of an empty loop and of a loop of
// 4-byte MMIO writes (each an exit through KVM_RUN, the Arm64ExitDecoder, VcpuLoop, the bus and the device),
// with a marker write to the probe (offset 0xf00, the phase number) between loops; N is read from the probe at
// 0xf08. Unlike bench.S it traps no system register: under KVM a PMU register without a vPMU is an UNDEF.
    .include "image.inc"
    image_header
entry:
    ldr     x9, =PROBE
    ldr     x10, [x9, #0xf08]
    mov     x1, #1
    str     x1, [x9, #0xf00]
    mov     x2, x10
1:  subs    x2, x2, #1
    b.ne    1b
    mov     x1, #2
    str     x1, [x9, #0xf00]
    mov     x2, x10
2:  str     w2, [x9, #0x10]
    subs    x2, x2, #1
    b.ne    2b
    mov     x1, #3
    str     x1, [x9, #0xf00]
    system_off
    .ltorg
image_end:
