#include <stdio.h>

extern int ifunc_add(int, int);
extern int ifunc_resolver_calls;
int impl_call(int, int);
int (*impl_addr(void))(int, int);
int (*other_addr(void))(int, int);
int other_call(int, int);
extern int (*const other_table[2])(int, int);

/* A statically initialized pointer to the IFUNC (data relocation). */
int (*main_ptr)(int, int) = ifunc_add;

int main(void)
{
    int (*volatile p)(int, int) = ifunc_add;
    printf("direct=%d\n", ifunc_add(1, 2));
    printf("pointer=%d\n", p(2, 3));
    printf("data pointer=%d\n", main_ptr(3, 4));
    printf("other object=%d table=%d\n", other_call(4, 5), other_table[0](5, 6));
    printf("impl object=%d\n", impl_call(6, 7));
    printf("resolver ran=%d\n", ifunc_resolver_calls > 0);
    printf("equal main/other=%d main/data=%d main/table=%d\n", p == other_addr(), p == main_ptr,
           p == other_table[0]);
    printf("equal main/impl=%d\n", p == impl_addr());
    return 0;
}
