/* Takes the IFUNC's address in a different object from main. */
extern int ifunc_add(int, int);
int (*other_addr(void))(int, int) { return ifunc_add; }
int other_call(int a, int b) { return ifunc_add(a, b); }
int (*const other_table[2])(int, int) = {ifunc_add, 0};
