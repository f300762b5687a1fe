; Interrupts from the VMM through the in-kernel PIC, in real mode (IVT at 0). The guest programs the
; master 8259 (vector base 0x20), unmasks IRQ 5, and twice asks the test for an interrupt by writing
; the request number to port 0x50: request 0 is answered through an irqfd, request 1 through
; KVM_IRQ_LINE. The handler counts in BX and reports on port 0x51; the guest writes the count to port
; 0x52 at the end. HLT with the in-kernel irqchip waits inside KVM for the interrupt.
bits 16
org 0x1000

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x0ff0
    mov word [0x25 * 4], handler    ; IVT entry for vector 0x25 = IRQ 5
    mov word [0x25 * 4 + 2], 0

    mov al, 0x11                    ; ICW1: edge triggered, cascade, ICW4 follows
    out 0x20, al
    mov al, 0x20                    ; ICW2: vectors 0x20..0x27
    out 0x21, al
    mov al, 0x04                    ; ICW3: slave on IRQ 2
    out 0x21, al
    mov al, 0x01                    ; ICW4: 8086 mode
    out 0x21, al
    mov al, 0xdf                    ; OCW1: mask everything but IRQ 5
    out 0x21, al

    xor bx, bx                      ; interrupts taken
    xor di, di                      ; interrupts requested
.next:
    mov ax, di
    out 0x50, al
    inc di
.wait:
    cli
    cmp bx, di
    jae .got
    sti                             ; STI's one-instruction shadow makes "sti; hlt" race-free
    hlt
    jmp .wait
.got:
    cmp di, 2
    jb .next
    mov ax, bx
    out 0x52, ax
.halt:
    cli
    hlt
    jmp .halt

handler:
    inc bx
    out 0x51, al
    mov al, 0x20                    ; non-specific EOI
    out 0x20, al
    iret
