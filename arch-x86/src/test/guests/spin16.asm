; Announces itself on port 0x70, then spins forever: only a kick gets the VMM back.
bits 16
org 0x1000

start:
    mov al, 1
    out 0x70, al
.spin:
    jmp .spin
