; Long-mode entry (identity page tables, 64-bit GDT and registers prepared by the harness, as for a
; Linux kernel), MMIO reads and writes of 1, 2, 4 and 8 bytes, an access straddling two bus devices, HLT.
; Loaded at 1 MiB. The test device sits at 0xd000_0000 (in the 32-bit MMIO hole, no RAM there); two
; 4-byte devices sit at +0x100 and +0x104.
bits 64
org 0x100000

DEV equ 0xd0000000

start:
    mov rsi, DEV
    mov byte [rsi], 0x12
    mov word [rsi + 0x10], 0x3456
    mov dword [rsi + 0x20], 0x789abcde
    mov rax, 0x0123456789abcdef
    mov [rsi + 0x30], rax

    mov r8b, [rsi + 0x40]
    mov r9w, [rsi + 0x50]
    mov r10d, [rsi + 0x60]
    mov r11, [rsi + 0x70]

    ; 4 bytes at +0x102: two bytes in each of the two devices
    mov dword [rsi + 0x102], 0xa1b2c3d4
    mov r12d, [rsi + 0x102]

    mov eax, 0x600dc0de
.halt:
    hlt
    jmp .halt
