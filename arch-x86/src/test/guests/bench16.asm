; Exit-cost benchmark guest (real mode, loaded at 0x1000, RAM only below 0xa0000). Three phases of
; COUNT iterations each, separated by marker writes the harness timestamps: an empty loop (the cost of
; the emulated loop itself), a loop of port writes (out 0x80) and a loop of MMIO writes at 0xa0000.
; The harness writes COUNT at 0x0ff8. Used by ExitCostBenchmark (Java) and bench/kvm_exit_cost.c (C).
bits 16
org 0x1000

COUNT equ 0x0ff8

start:
    xor ax, ax
    mov ds, ax
    mov ax, 0xa000
    mov es, ax
    out 0x83, al                ; marker: start
    mov ecx, [COUNT]
.loop:
    dec ecx
    jnz .loop
    out 0x84, al                ; marker: empty loop done
    mov ecx, [COUNT]
.pio:
    out 0x80, al
    dec ecx
    jnz .pio
    out 0x81, al                ; marker: port loop done
    mov ecx, [COUNT]
.mmio:
    mov [es:0], al
    dec ecx
    jnz .mmio
    out 0x82, al                ; marker: MMIO loop done
    cli
.halt:
    hlt
    jmp .halt
