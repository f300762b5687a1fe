; Two vCPUs at once: each sets its flag in shared memory and spins until the other's flag is set,
; then reports its index (BX, set by the harness) on port 0x60 and halts. If the vCPUs did not run
; at the same time, the first would spin forever. Real mode, no irqchip.
bits 16
org 0x1000

FLAGS equ 0x0800

start:
    xor ax, ax
    mov ds, ax
    mov byte [FLAGS + bx], 1
    mov si, 1
    sub si, bx
.spin:
    cmp byte [FLAGS + si], 1
    jne .spin
    mov ax, bx
    out 0x60, al
.halt:
    hlt
    jmp .halt
