#include <stdio.h>
#include "myset.h"

extern const struct myset_entry __start_myset[], __stop_myset[];

MYSET_ENTRY(main_first, "main-first", 1);
MYSET_ENTRY(main_second, "main-second", 20);

int main(void)
{
    long sum = 0;
    int n = 0;
    for (const struct myset_entry *e = __start_myset; e < __stop_myset; e++, n++) {
        printf("entry %s %ld\n", e->name, e->value);
        sum += e->value;
    }
    printf("entries=%d sum=%ld bytes=%ld\n", n, sum, (long)((char *)__stop_myset - (char *)__start_myset));
    return 0;
}
