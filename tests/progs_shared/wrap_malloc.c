#include <stdio.h>
#include <stdlib.h>
void *__real_malloc(size_t);
static int calls;
void *__wrap_malloc(size_t n) { calls++; return __real_malloc(n); }
int main(void) { void *p = malloc(10); free(p); printf("wrapped calls=%d\n", calls); return 0; }
