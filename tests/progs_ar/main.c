#include <stdio.h>

int alpha(void);
int beta(void);
int gamma_from_long_name(void);
int exact(void);
int d1_util(void);
int d2_util(void);
extern int shared_counter;      /* a common symbol, defined in alpha.o */

int main(void)
{
    shared_counter = 5;
    printf("alpha=%d beta=%d gamma=%d exact=%d d1=%d d2=%d counter=%d\n",
           alpha(), beta(), gamma_from_long_name(), exact(), d1_util(), d2_util(), shared_counter);
    return 0;
}
