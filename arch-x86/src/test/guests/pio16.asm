; Real-mode entry, port I/O of 1, 2 and 4 bytes in both directions, string I/O, HLT.
; Loaded at 0x1000 and entered with CS = 0, IP = 0x1000 (see KvmConformanceTest). No in-kernel irqchip:
; HLT exits to the VMM. The test's device answers reads on ports 0x20/0x22/0x24/0x42; the guest echoes
; what it read to 0x30/0x32/0x34/0x44 and keeps it in BL, BP and EDI for the register check.
bits 16
org 0x1000

start:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x0ff0
    cld

    ; writes of each size
    mov al, 0x12
    out 0x10, al
    mov ax, 0x3456
    out 0x12, ax
    mov eax, 0x789abcde
    out 0x14, eax
    mov dx, 0x1234              ; a port above 0xff, through DX
    mov al, 0x5a
    out dx, al

    ; string output and input: one KVM exit may carry several elements
    mov si, message
    mov cx, 4
    mov dx, 0x40
    rep outsb                   ; 'J' 'V' 'M' 'M' to port 0x40
    mov di, buffer
    mov cx, 3
    mov dx, 0x42
    rep insw                    ; three words from port 0x42
    mov si, buffer
    mov cx, 3
    mov dx, 0x44
    rep outsw                   ; echoed to port 0x44

    ; reads of each size, echoed and kept
    in al, 0x20
    mov bl, al
    out 0x30, al
    in ax, 0x22
    mov bp, ax
    out 0x32, ax
    in eax, 0x24
    mov edi, eax
    out 0x34, eax

    mov eax, 0x600dc0de
    cli
.halt:
    hlt
    jmp .halt

message: db 'JVMM'
buffer:  times 3 dw 0
