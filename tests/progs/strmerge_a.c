#include <stdio.h>
const char *strmerge_other(void);
double strmerge_other_double(void);

int main(void)
{
    /* The same literal as in strmerge_b.c: SHF_MERGE|SHF_STRINGS sections
       (.rodata.str1.1) from both objects must be merged into one copy. */
    printf("%s|%s\n", "ldpy merges identical string literals", strmerge_other());
    /* The same 8-byte constant in .rodata.cst8 of both objects. */
    volatile double x = 1.0;
    printf("%.12f %.12f\n", x * 1234.56789012345678, strmerge_other_double());
    return 0;
}
