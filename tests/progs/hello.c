#include <stdio.h>

/* A file-local function: must show up as a local symbol in .symtab. */
static __attribute__((noinline, used)) int hello_local_helper(int x) { return x * 3; }

int hello_global_counter = 1;

int main(void)
{
    printf("Hello, static world! %d\n", hello_local_helper(14));
    return 0;
}
