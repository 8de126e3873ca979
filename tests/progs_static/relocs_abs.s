        .globl small16, small8
        .set small16, 0x1234
        .set small8, 0x56
        .section .note.GNU-stack,"",@progbits
