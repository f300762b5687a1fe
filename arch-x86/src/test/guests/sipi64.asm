; Starting a second vCPU the way Linux does, through the in-kernel local APIC: the boot CPU (long mode,
; loaded at 1 MiB) copies a real-mode trampoline to 0x2000, software-enables its LAPIC and sends
; INIT then STARTUP with vector 0x02 to APIC ID 1, then reports on port 0xe2 and halts. The second vCPU
; wakes in real mode at 0x2000 (CS = 0x0200), reports on port 0xe1 and halts. (Not 0x61: KVM's
; in-kernel PIT answers that port as the PC speaker.) With the in-kernel
; irqchip, vCPU 1 waits inside KVM_RUN for the SIPI; neither HLT exits to the VMM.
bits 64
org 0x100000

LAPIC equ 0xfee00000

start:
    mov rsi, ap_start
    mov rdi, 0x2000
    mov rcx, ap_end - ap_start
    cld
    rep movsb
    mov rbx, LAPIC
    mov dword [rbx + 0xf0], 0x1ff           ; spurious-interrupt vector register: APIC software-enabled
    mov dword [rbx + 0x310], 1 << 24        ; ICR high: destination APIC ID 1
    mov dword [rbx + 0x300], 0x00004500     ; ICR low: INIT, assert
    mov dword [rbx + 0x310], 1 << 24
    mov dword [rbx + 0x300], 0x00004602     ; ICR low: STARTUP, vector 0x02 -> 0x2000
    mov al, 0xe2
    out 0xe2, al
.halt:
    cli
    hlt
    jmp .halt

bits 16
ap_start:                                   ; position-independent: runs at 0x2000
    mov al, 0xe1
    out 0xe1, al
.halt:
    cli
    hlt
    jmp .halt
ap_end:
