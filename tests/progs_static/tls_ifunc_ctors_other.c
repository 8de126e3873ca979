__thread int tvar = 42; __thread int tzero[4];
static __thread int tl = 7;
int get_local(void){ return tl; }
int myfunc(void);
int (*get_fp(void))(void) { return myfunc; }
