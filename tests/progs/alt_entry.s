# An alternative entry point for -e: prints a line and exits with status 3,
# without running libc's startup code or main.
        .section .rodata
alt_msg:
        .ascii  "entered at alt_entry\n"
        .set    alt_len, . - alt_msg

        .text
        .globl  alt_entry
        .type   alt_entry, @function
alt_entry:
        mov     $1, %eax
        mov     $1, %edi
        lea     alt_msg(%rip), %rsi
        mov     $alt_len, %edx
        syscall
        mov     $60, %eax
        mov     $3, %edi
        syscall
        hlt
        .size   alt_entry, . - alt_entry
        .section .note.GNU-stack,"",@progbits
