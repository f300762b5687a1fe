; ioeventfd: ten 4-byte writes of 3 to 0xd000_0050 (registered with datamatch 3) and five byte writes
; to port 0x88 (registered without datamatch) must signal their eventfds without reaching the VMM;
; one write of 4 to 0xd000_0050 does not match and exits as ordinary MMIO. Long mode, loaded at 1 MiB.
bits 64
org 0x100000

start:
    mov rsi, 0xd0000050
    mov ecx, 10
.notify:
    mov dword [rsi], 3
    dec ecx
    jnz .notify
    mov dword [rsi], 4

    mov ecx, 5
    mov al, 7
.port:
    out 0x88, al
    dec ecx
    jnz .port

.halt:
    hlt
    jmp .halt
