; The boot-protocol probe's bzImage header and entry points (Linux Documentation/arch/x86/boot.rst).
; The file is: one boot sector + one setup sector (setup_sects = 1) holding the real-mode header,
; then the protected-mode part, whose 64-bit entry point is at offset 0x200.

extern _syssize, _init_size, probe_main, LOAD_ADDR, stack_top

section .note.GNU-stack noalloc noexec nowrite progbits
section .header progbits alloc noexec nowrite align=1
hdr_start:
        times 0x1f1 db 0
        db 1                    ; 0x1f1 setup_sects
        dw 0                    ; 0x1f2 root_flags
        dd _syssize             ; 0x1f4 syssize: protected-mode size in 16-byte units
        dw 0                    ; 0x1f8 ram_size
        dw 0xffff               ; 0x1fa vid_mode: normal
        dw 0                    ; 0x1fc root_dev
        dw 0xaa55               ; 0x1fe boot_flag
        db 0xeb, hdr_end - 0x202 ; 0x200 jump; the byte at 0x201 gives the header's end
        db "HdrS"               ; 0x202 header
        dw 0x020f               ; 0x206 version 2.15
        dd 0                    ; 0x208 realmode_swtch
        dw 0x1000               ; 0x20c start_sys_seg
        dw 0                    ; 0x20e kernel_version
        db 0                    ; 0x210 type_of_loader (the loader writes 0xff)
        db 0x01                 ; 0x211 loadflags: LOADED_HIGH
        dw 0x8000               ; 0x212 setup_move_size
        dd LOAD_ADDR            ; 0x214 code32_start
        dd 0                    ; 0x218 ramdisk_image
        dd 0                    ; 0x21c ramdisk_size
        dd 0                    ; 0x220 bootsect_kludge
        dw 0                    ; 0x224 heap_end_ptr
        db 0                    ; 0x226 ext_loader_ver
        db 0                    ; 0x227 ext_loader_type
        dd 0                    ; 0x228 cmd_line_ptr
        dd 0x7fffffff           ; 0x22c initrd_addr_max
        dd 0x200000             ; 0x230 kernel_alignment
        db 1                    ; 0x234 relocatable_kernel
        db 21                   ; 0x235 min_alignment (2 MiB)
        dw 0x0001               ; 0x236 xloadflags: XLF_KERNEL_64
        dd 2047                 ; 0x238 cmdline_size
        dd 0                    ; 0x23c hardware_subarch: PC
        dq 0                    ; 0x240 hardware_subarch_data
        dd 0                    ; 0x248 payload_offset
        dd 0                    ; 0x24c payload_length
        dq 0                    ; 0x250 setup_data
        dq LOAD_ADDR            ; 0x258 pref_address
        dd _init_size           ; 0x260 init_size
        dd 0                    ; 0x264 handover_offset
        dd 0                    ; 0x268 kernel_info_offset
hdr_end:
        times 1024 - ($ - hdr_start) db 0

section .text.head progbits alloc exec nowrite align=16
bits 32
startup_32:                     ; the 32-bit entry: the probe tests the 64-bit protocol only
        cli
        hlt
        jmp startup_32
        times 0x200 - ($ - startup_32) db 0

bits 64
global startup_64
startup_64:                     ; boot.rst "64-bit Boot Protocol": RSI = boot_params
        pushfq
        pop rdx                 ; arg 3: RFLAGS as the loader left it
        mov ecx, cs             ; arg 4: CS selector
        mov rdi, rsi            ; arg 1: the zero page
        lea rsi, [rel startup_64] ; arg 2: where we really run
        mov r8, startup_64      ; arg 5: where we were linked to run
        mov rsp, stack_top
        call probe_main
.halt:  cli
        hlt
        jmp .halt
