# A freestanding program: no libc, no crt files; _start writes a line with
# the write system call and exits with status 7.
        .section .rodata
msg:    .ascii "hello from _start\n"
        .set msglen, . - msg

        .data
        .globl  exit_code
exit_code:
        .long   7

        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $1, %eax                # write(1, msg, msglen)
        mov     $1, %edi
        lea     msg(%rip), %rsi
        mov     $msglen, %edx
        syscall
        mov     $60, %eax               # exit(exit_code)
        mov     exit_code(%rip), %edi
        syscall
        hlt
        .size   _start, . - _start
        .section .note.GNU-stack,"",@progbits
