# Every x86-64 relocation type gcc/as emit in static code, checked by running.
        .data
        .globl value
        .p2align 3
value:  .quad 0x1122334455667788
abs64:  .quad value + 8                  # R_X86_64_64
abs32:  .long value                      # R_X86_64_32
abs32s: .long value - 16                 # R_X86_64_32S
abs16:  .short small16                   # R_X86_64_16 (absolute symbol of another object)
abs8:   .byte small8                     # R_X86_64_8
pc64:   .quad near - .                   # R_X86_64_PC64 (near is in another section)
pc32:   .long near - .                   # R_X86_64_PC32 (in data)
pc16:   .short near - .                  # R_X86_64_PC16 (near is in another section)
pc8:    .byte near2 - .                  # R_X86_64_PC8
        .p2align 3
size64: .quad value@SIZE                 # R_X86_64_SIZE64
size32: .long value@SIZE + 4             # R_X86_64_SIZE32
gotpcrel64: .quad value@GOTPCREL
        .size value, 8
        .section .data.near,"aw"
        .globl near, near2
near:   .byte 1
near2:  .byte 2
        .text
        .globl check_all
# returns a bitmask of failures (0 = all good)
check_all:
        xor %eax, %eax
        lea value(%rip), %rdx
        lea 8(%rdx), %rcx
        cmp abs64(%rip), %rcx
        je 1f
        or $1, %eax
1:      movl abs32(%rip), %ecx
        cmp %rdx, %rcx
        je 1f
        or $2, %eax
1:      mov $value, %rcx                            # R_X86_64_32S
        cmp %rdx, %rcx
        je 1f
        or $65536, %eax
1:      movslq abs32s(%rip), %rcx
        lea -16(%rdx), %rsi
        cmp %rsi, %rcx
        je 1f
        or $4, %eax
1:      cmpw $0x1234, abs16(%rip)
        je 1f
        or $8, %eax
1:      cmpb $0x56, abs8(%rip)
        je 1f
        or $16, %eax
1:      lea near(%rip), %rdi
        lea pc64(%rip), %rcx
        add pc64(%rip), %rcx
        cmp %rdi, %rcx
        je 1f
        or $32, %eax
1:      lea pc32(%rip), %rcx
        movslq pc32(%rip), %rsi
        add %rsi, %rcx
        cmp %rdi, %rcx
        je 1f
        or $64, %eax
1:      lea pc16(%rip), %rcx
        movswq pc16(%rip), %rsi
        add %rsi, %rcx
        lea near(%rip), %rsi
        cmp %rsi, %rcx
        je 1f
        or $128, %eax
1:      lea pc8(%rip), %rcx
        movsbq pc8(%rip), %rsi
        add %rsi, %rcx
        lea near2(%rip), %rsi
        cmp %rsi, %rcx
        je 1f
        or $256, %eax
1:      cmpq $8, size64(%rip)
        je 1f
        or $512, %eax
1:      cmpl $12, size32(%rip)
        je 1f
        or $1024, %eax
        # GOT-relative forms of the large and medium code models
1:      lea 1f(%rip), %r11
1:      movabs $_GLOBAL_OFFSET_TABLE_-1b, %rcx     # R_X86_64_GOTPC64
        add %rcx, %r11                              # %r11 = GOT
        movabs $value@GOTOFF, %rcx                  # R_X86_64_GOTOFF64
        lea (%r11,%rcx), %rcx
        cmp %rdx, %rcx
        je 1f
        or $2048, %eax
1:      movabs $value@GOT, %rcx                     # R_X86_64_GOT64
        mov (%r11,%rcx), %rcx
        cmp %rdx, %rcx
        je 1f
        or $4096, %eax
1:      lea _GLOBAL_OFFSET_TABLE_(%rip), %rcx       # R_X86_64_GOTPC32
        cmp %r11, %rcx
        je 1f
        or $8192, %eax
1:      mov value@GOTPCREL(%rip), %rcx              # R_X86_64_GOTPCREL (kept in the GOT)
        cmp %rdx, %rcx
        je 1f
        or $16384, %eax
1:      lea gotpcrel64(%rip), %rsi                  # R_X86_64_GOTPCREL64 (in data)
        add gotpcrel64(%rip), %rsi
        mov (%rsi), %rcx
        cmp %rdx, %rcx
        je 1f
        or $32768, %eax
1:      ret
.section .note.GNU-stack,"",@progbits
