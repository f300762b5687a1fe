; A minimal virtio-blk driver as a bare-metal guest, entered through the PVH boot ABI (32-bit protected
; mode, paging off, interrupts off). It drives the virtio-mmio v2 device in slot 0 at 0xd000_0000 the way
; virtio 1.2 §3.1.1, §4.2.3 and §5.2.6 describe, polling the used ring instead of taking interrupts:
;   1. writes sector 1 with a pattern, flushes, reads it back and compares;
;   2. reads the last sector (OK) and two sectors from the last one (IOERR);
;   3. offers broken rings (a descriptor loop, a buffer outside RAM, a next index outside the table, an
;      available index too far ahead) and expects DEVICE_NEEDS_RESET each time, then a working device.
; It prints "VIRTIO: ok <check>" / "VIRTIO: FAIL <check>" per check and "VIRTIO: PASS" or "VIRTIO: FAIL"
; on COM1, then resets through the i8042. The host checks the image file afterwards.

MMIO    equ 0xd0000000
; Guest RAM the driver uses for its queue and buffers (the test gives the guest 64 MiB).
DESC    equ 0x200000            ; 8 descriptors x 16 bytes, 16-byte aligned
AVAIL   equ 0x201000            ; flags, idx, ring[8], used_event
USED    equ 0x202000            ; flags, idx, ring[8] x 8 bytes, avail_event
HEADER  equ 0x203000            ; struct virtio_blk_req header: type, reserved, sector
STATUS  equ 0x203100            ; the status byte
WBUF    equ 0x204000            ; 512 bytes written
RBUF    equ 0x205000            ; 1024 bytes read back
QSIZE   equ 8
SPIN    equ 3000000             ; poll bound: the guest never hangs waiting for the device

section .note.GNU-stack noalloc noexec nowrite progbits

section .note.pvh note alloc noexec nowrite align=4
        dd 4, 4, 18             ; namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY
        db "Xen", 0
        dd pvh_entry

section .text progbits alloc exec nowrite align=16
bits 32
global pvh_entry
pvh_entry:
        mov esp, stack_top
        mov esi, msg_start
        call puts

        ; Identify the device.
        cmp dword [MMIO + 0x000], 0x74726976
        sete al
        cmp dword [MMIO + 0x004], 2
        sete ah
        and al, ah
        cmp dword [MMIO + 0x008], 2
        sete ah
        and al, ah
        mov esi, msg_ident
        call report

        call init_device

        ; capacity (config offset 0, low dword: the test disk is small)
        mov eax, [MMIO + 0x100]
        mov [capacity], eax

        ; 1. OUT sector 1 with the pattern i*7+3.
        mov edi, WBUF
        xor ecx, ecx
.fill:  mov eax, ecx
        imul eax, eax, 7
        add eax, 3
        mov [edi + ecx], al
        inc ecx
        cmp ecx, 512
        jb .fill
        mov eax, 1              ; VIRTIO_BLK_T_OUT
        mov ebx, 1              ; sector
        mov esi, WBUF
        mov ecx, 512
        xor edx, edx            ; data is device-readable
        call request
        test eax, eax
        sete al
        mov esi, msg_write
        call report

        ; FLUSH: header and status only.
        mov eax, 4
        xor ebx, ebx
        xor ecx, ecx
        call request
        test eax, eax
        sete al
        mov esi, msg_flush
        call report

        ; IN sector 1 and compare.
        mov edi, RBUF
        mov ecx, 1024
        mov al, 0xee
        rep stosb
        xor eax, eax            ; VIRTIO_BLK_T_IN
        mov ebx, 1
        mov esi, RBUF
        mov ecx, 512
        mov edx, 2              ; VIRTQ_DESC_F_WRITE
        call request
        test eax, eax
        jnz .read_bad
        mov esi, WBUF
        mov edi, RBUF
        mov ecx, 512
        repe cmpsb
.read_bad:
        sete al
        mov esi, msg_read
        call report

        ; 2. The last sector reads; two sectors from the last one are past the end: IOERR.
        xor eax, eax
        mov ebx, [capacity]
        dec ebx
        mov esi, RBUF
        mov ecx, 512
        mov edx, 2
        call request
        test eax, eax
        sete al
        mov esi, msg_last
        call report

        xor eax, eax
        mov ebx, [capacity]
        dec ebx
        mov esi, RBUF
        mov ecx, 1024
        mov edx, 2
        call request
        cmp eax, 1              ; VIRTIO_BLK_S_IOERR
        sete al
        mov esi, msg_past_end
        call report

        ; 3. Broken rings. Each must make the device report DEVICE_NEEDS_RESET with a configuration-
        ;    change interrupt pending; the driver then resets the device and sets it up again.
        ;    a) a descriptor loop 0 -> 1 -> 0
        mov dword [DESC + 0], HEADER
        mov dword [DESC + 4], 0
        mov dword [DESC + 8], 16
        mov word [DESC + 12], 1         ; NEXT
        mov word [DESC + 14], 1
        mov dword [DESC + 16], HEADER
        mov dword [DESC + 20], 0
        mov dword [DESC + 24], 16
        mov word [DESC + 28], 1
        mov word [DESC + 30], 0
        call publish_head0
        mov esi, msg_loop
        call expect_needs_reset
        ;    b) a buffer outside guest RAM (the guest has 64 MiB; 0x8000_0000 is in no region)
        call init_device
        mov dword [DESC + 0], 0x80000000
        mov dword [DESC + 4], 0
        mov dword [DESC + 8], 16
        mov word [DESC + 12], 0
        mov word [DESC + 14], 0
        call publish_head0
        mov esi, msg_outside
        call expect_needs_reset
        ;    c) a next index outside the 8-entry table
        call init_device
        mov dword [DESC + 0], HEADER
        mov dword [DESC + 4], 0
        mov dword [DESC + 8], 16
        mov word [DESC + 12], 1
        mov word [DESC + 14], 200
        call publish_head0
        mov esi, msg_next
        call expect_needs_reset
        ;    d) an available index 9 entries ahead of the device: more chains than the queue holds
        call init_device
        mov word [avail_idx], 9
        mov word [AVAIL + 2], 9
        mov dword [MMIO + 0x050], 0
        mov esi, msg_avail
        call expect_needs_reset
        ;    and after all that, the device still works
        call init_device
        xor eax, eax
        mov ebx, 1
        mov esi, RBUF
        mov ecx, 512
        mov edx, 2
        call request
        test eax, eax
        jnz .again_bad
        mov esi, WBUF
        mov edi, RBUF
        mov ecx, 512
        repe cmpsb
.again_bad:
        sete al
        mov esi, msg_again
        call report
        mov dword [MMIO + 0x070], 0     ; leave the device reset
        cmp dword [MMIO + 0x070], 0
        sete al
        mov esi, msg_reset
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

;  init_device: reset the device and bring it to DRIVER_OK with queue 0 (size 8) at DESC/AVAIL/USED,
;  clearing the rings first; reports each step.
init_device:
        mov edi, DESC
        mov ecx, 0x3000
        xor eax, eax
        rep stosb
        mov word [avail_idx], 0
        ; Reset, ACKNOWLEDGE, DRIVER; accept only VIRTIO_F_VERSION_1 (and FLUSH); FEATURES_OK.
        mov dword [MMIO + 0x070], 0
        mov dword [MMIO + 0x070], 1
        mov dword [MMIO + 0x070], 3
        mov dword [MMIO + 0x024], 0
        mov dword [MMIO + 0x020], 1 << 9        ; VIRTIO_BLK_F_FLUSH
        mov dword [MMIO + 0x024], 1
        mov dword [MMIO + 0x020], 1             ; VIRTIO_F_VERSION_1 (bit 32)
        mov dword [MMIO + 0x070], 0xb
        mov eax, [MMIO + 0x070]
        test eax, 8
        setnz al
        mov esi, msg_features
        call report

        ; Queue 0: size 8 at DESC / AVAIL / USED, then DRIVER_OK.
        mov dword [MMIO + 0x030], 0
        cmp dword [MMIO + 0x034], QSIZE
        setae al
        mov esi, msg_qmax
        call report
        mov dword [MMIO + 0x038], QSIZE
        mov dword [MMIO + 0x080], DESC
        mov dword [MMIO + 0x084], 0
        mov dword [MMIO + 0x090], AVAIL
        mov dword [MMIO + 0x094], 0
        mov dword [MMIO + 0x0a0], USED
        mov dword [MMIO + 0x0a4], 0
        mov dword [MMIO + 0x044], 1
        mov dword [MMIO + 0x070], 0xf
        mov eax, [MMIO + 0x070]
        cmp eax, 0xf
        sete al
        mov esi, msg_driver_ok
        call report

        ret

; expect_needs_reset: waits (bounded) for DEVICE_NEEDS_RESET, checks the configuration-change interrupt
; is pending, acknowledges it and resets the device. ESI = the name of the broken-ring case.
expect_needs_reset:
        push esi
        mov ecx, SPIN
.wait:  test dword [MMIO + 0x070], 0x40
        jnz .seen
        dec ecx
        jnz .wait
.seen:  test ecx, ecx
        setnz al
        mov edx, [MMIO + 0x060]         ; InterruptStatus: the configuration-change bit
        test edx, 2
        setnz ah
        and al, ah
        pop esi
        call report
        mov dword [MMIO + 0x064], 3     ; InterruptACK
        mov dword [MMIO + 0x070], 0     ; reset
        ret

; request: EAX = type, EBX = sector, ESI = data buffer, ECX = data length (0: none), EDX = data flags.
; Builds header -> [data] -> status as descriptors 0, 1, 2, publishes it and polls for the used
; element. Returns EAX = the status byte, or 0xff if the device never answered.
request:
        mov dword [HEADER], eax
        mov dword [HEADER + 4], 0
        mov dword [HEADER + 8], ebx
        mov dword [HEADER + 12], 0
        mov byte [STATUS], 0xff
        mov dword [DESC + 0], HEADER
        mov dword [DESC + 4], 0
        mov dword [DESC + 8], 16
        mov word [DESC + 12], 1         ; NEXT
        mov word [DESC + 14], 2         ; straight to the status if there is no data
        test ecx, ecx
        jz .status
        mov word [DESC + 14], 1
        mov dword [DESC + 16], esi
        mov dword [DESC + 20], 0
        mov dword [DESC + 24], ecx
        or edx, 1                       ; NEXT
        mov word [DESC + 28], dx
        mov word [DESC + 30], 2
.status:
        mov dword [DESC + 32], STATUS
        mov dword [DESC + 36], 0
        mov dword [DESC + 40], 1
        mov word [DESC + 44], 2         ; WRITE
        mov word [DESC + 46], 0
        call publish_head0
        mov ecx, SPIN
.poll:  movzx eax, word [USED + 2]
        cmp ax, [avail_idx]
        je .answered
        dec ecx
        jnz .poll
        mov eax, 0xff
        ret
.answered:
        movzx eax, byte [STATUS]
        ret

; Puts descriptor 0 on the available ring, publishes the new index and notifies queue 0.
publish_head0:
        movzx eax, word [avail_idx]
        mov ebx, eax
        and ebx, QSIZE - 1
        mov word [AVAIL + 4 + ebx * 2], 0
        inc eax
        mov [avail_idx], ax
        mov [AVAIL + 2], ax             ; x86 stores are ordered: the ring entry is visible first
        mov dword [MMIO + 0x050], 0     ; QueueNotify
        ret

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
msg_start:       db "VIRTIO: start", 10, 0
msg_ok:          db "VIRTIO: ok   ", 0
msg_bad:         db "VIRTIO: FAIL ", 0
msg_pass:        db "VIRTIO: PASS", 10, 0
msg_fail:        db "VIRTIO: FAIL", 10, 0
msg_ident:       db "magic, version 2, block device", 0
msg_features:    db "FEATURES_OK accepted", 0
msg_qmax:        db "QueueNumMax >= 8", 0
msg_driver_ok:   db "DRIVER_OK", 0
msg_write:       db "write sector 1", 0
msg_flush:       db "flush", 0
msg_read:        db "read sector 1 back", 0
msg_last:        db "read the last sector", 0
msg_past_end:    db "read past the end is IOERR", 0
msg_loop:        db "descriptor loop: NEEDS_RESET and a config interrupt", 0
msg_outside:     db "buffer outside RAM: NEEDS_RESET and a config interrupt", 0
msg_next:        db "next outside the table: NEEDS_RESET and a config interrupt", 0
msg_avail:       db "available index too far ahead: NEEDS_RESET and a config interrupt", 0
msg_again:       db "after the resets the device reads sector 1 back", 0
msg_reset:       db "reset clears the status", 0

section .bss nobits alloc noexec write align=16
failures:   resd 1
capacity:   resd 1
avail_idx:  resd 1
        resb 4096
stack_top:
