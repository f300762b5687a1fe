; A triple fault: in long mode with the boot IDT (one null gate), UD2 raises #UD, whose gate is not
; present (#NP, then #DF through the same empty table), which faults again: the CPU shuts down.
bits 64
org 0x100000

start:
    ud2
.halt:
    hlt
    jmp .halt
