; The PVH probe: an ELF "kernel" with a Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY). jvmm enters it in
; 32-bit protected mode with EBX = hvm_start_info (Xen docs/misc/pvh.pandoc); it checks what it finds,
; prints one line per check on COM1 and "PVH: PASS" or "PVH: FAIL", then resets through the i8042.
; hvm_start_info: magic +0, version +4, flags +8, nr_modules +12, modlist_paddr +16, cmdline_paddr +24,
; rsdp_paddr +32, memmap_paddr +40, memmap_entries +48 (xen/include/public/arch-x86/hvm/start_info.h).
; The test supplies expected-cmdline.txt and initrd.bin (found through nasm -I) as the expectations.

section .note.GNU-stack noalloc noexec nowrite progbits

section .note.pvh note alloc noexec nowrite align=4
        dd 4                    ; namesz
        dd 4                    ; descsz
        dd 18                   ; XEN_ELFNOTE_PHYS32_ENTRY
        db "Xen", 0
        dd pvh_entry

section .text progbits alloc exec nowrite align=16
bits 32
global pvh_entry
pvh_entry:
        mov esp, stack_top
        mov [start_info], ebx
        mov esi, msg_start
        call puts

        mov eax, [ebx]                          ; magic
        cmp eax, 0x336ec578
        sete al
        mov esi, msg_magic
        call report

        cmp dword [ebx + 4], 1                  ; version >= 1 (memory map present)
        setae al
        mov esi, msg_version
        call report

        mov eax, cr0                            ; protected mode, paging off
        and eax, 0x80000001
        cmp eax, 1
        sete al
        mov esi, msg_cr0
        call report

        pushfd                                  ; interrupts off
        pop eax
        test eax, 0x200
        setz al
        mov esi, msg_if
        call report

        mov esi, [ebx + 24]                     ; cmdline_paddr (low half: below 4 GiB)
        mov edi, expected_cmdline
        mov ecx, expected_cmdline_len + 1       ; including the terminating zero
        repe cmpsb
        sete al
        mov esi, msg_cmdline
        call report

        mov esi, [ebx + 32]                     ; rsdp_paddr
        xor eax, eax
        test esi, esi
        jz .rsdp_done
        cmp dword [esi], "RSD "
        jne .rsdp_done
        cmp dword [esi + 4], "PTR "
        jne .rsdp_done
        xor ecx, ecx
        xor edx, edx
.rsdp_sum:
        add dl, [esi + ecx]
        inc ecx
        cmp ecx, 20
        jb .rsdp_sum
        test dl, dl
        sete al
.rsdp_done:
        mov esi, msg_rsdp
        call report

        mov esi, [ebx + 40]                     ; memmap_paddr
        xor eax, eax
        cmp dword [ebx + 48], 3                 ; at least low RAM, the BIOS hole, high RAM
        jb .memmap_done
        cmp dword [esi], 0                      ; entry 0: RAM at 0
        jne .memmap_done
        cmp dword [esi + 16], 1
        jne .memmap_done
        mov al, 1
.memmap_done:
        mov esi, msg_memmap
        call report

        xor eax, eax                            ; one module: the initrd, byte for byte
        cmp dword [ebx + 12], 1
        jne .initrd_done
        mov edx, [ebx + 16]                     ; modlist_paddr
        cmp dword [edx + 8], initrd_len         ; size
        jne .initrd_done
        mov esi, [edx]                          ; paddr
        test esi, 0xfff
        jnz .initrd_done
        mov edi, expected_initrd
        mov ecx, initrd_len
        repe cmpsb
        sete al
.initrd_done:
        mov esi, msg_initrd
        call report

        mov esi, msg_pass
        cmp dword [failures], 0
        je .verdict
        mov esi, msg_fail
.verdict:
        call puts
        mov dx, 0x64
        mov al, 0xfe
        out dx, al
.halt:  cli
        hlt
        jmp .halt

; report: AL = 1 if the check passed; ESI = its name.
report:
        push esi
        mov esi, msg_ok
        test al, al
        jnz .print
        inc dword [failures]
        mov esi, msg_bad
.print: call puts
        pop esi
        call puts
        mov al, 10
        call putc
        ret

puts:   lodsb
        test al, al
        jz .done
        call putc
        jmp puts
.done:  ret

putc:   push eax
        mov dx, 0x3fd
.wait:  in al, dx
        test al, 0x20
        jz .wait
        pop eax
        mov dx, 0x3f8
        out dx, al
        ret

section .rodata progbits alloc noexec nowrite align=4
msg_start:   db "PVH: start", 10, 0
msg_ok:      db "PVH: ok   ", 0
msg_bad:     db "PVH: FAIL ", 0
msg_pass:    db "PVH: PASS", 10, 0
msg_fail:    db "PVH: FAIL", 10, 0
msg_magic:   db "start_info magic", 0
msg_version: db "start_info version 1 or later", 0
msg_cr0:     db "protected mode without paging", 0
msg_if:      db "interrupts disabled", 0
msg_cmdline: db "command line equals the expected string", 0
msg_rsdp:    db "rsdp_paddr names an RSDP with a valid checksum", 0
msg_memmap:  db "memory map starts with RAM at 0 and has 3+ entries", 0
msg_initrd:  db "one module: the initrd, page aligned, byte for byte", 0
expected_cmdline:
        incbin "expected-cmdline.txt"
expected_cmdline_len equ $ - expected_cmdline
        db 0
expected_initrd:
        incbin "initrd.bin"
initrd_len equ $ - expected_initrd

section .bss nobits alloc noexec write align=16
start_info: resd 1
failures:   resd 1
        resb 4096
stack_top:
