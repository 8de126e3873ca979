#include <stdio.h>
#include <pthread.h>
extern __thread int tvar; extern __thread int tzero[4];
int get_local(void); int (*get_fp(void))(void);
static int impl1(void){return 1;} static int impl2(void){return 2;}
static void *resolve(void){ return impl2; }
int myfunc(void) __attribute__((ifunc("resolve")));
__attribute__((constructor(102))) static void c102(void){ puts("ctor 102"); }
__attribute__((constructor(101))) static void c101(void){ puts("ctor 101"); }
__attribute__((constructor)) static void cdef(void){ puts("ctor default"); }
__attribute__((destructor(101))) static void d101(void){ puts("dtor 101"); }
__attribute__((destructor)) static void ddef(void){ puts("dtor default"); }
void *thr(void *a){ tvar += 5; tzero[1] = 9; printf("thread tvar=%d tzero1=%d\n", tvar, tzero[1]); return 0; }
__attribute__((section("myset"))) int set_a = 10;
__attribute__((section("myset"))) int set_b = 20;
extern int __start_myset[], __stop_myset[];
int main(){ printf("tvar=%d local=%d\n", tvar, get_local());
 pthread_t t; pthread_create(&t, 0, thr, 0); pthread_join(t, 0);
 printf("main tvar=%d tzero1=%d\n", tvar, tzero[1]);
 printf("ifunc=%d same=%d\n", myfunc(), get_fp() == myfunc);
 int s=0; for (int *p=__start_myset; p<__stop_myset; p++) s+=*p; printf("set sum=%d\n", s);
 return 0; }
