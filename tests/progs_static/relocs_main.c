#include <stdio.h>
int check_all(void);
int main(void) { printf("relocation check mask=%d\n", check_all()); return 0; }
