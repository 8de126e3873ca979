#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <string.h>
extern char **environ;
int (*fp)(const char *) = puts;
void *thr(void *a) { errno = 5; return (void*)(long)sqrt((double)(long)a); }
int main(int argc, char **argv) {
  fp("via pointer");
  printf("same=%d\n", fp == puts);
  setenv("LDPY_X", "42", 1);
  int found = 0; for (char **e = environ; *e; e++) if (!strncmp(*e, "LDPY_X=42", 9)) found = 1;
  printf("environ found=%d\n", found);
  fprintf(stdout, "stdout ok %s\n", "yes");
  pthread_t t; void *r; pthread_create(&t, 0, thr, (void*)49); pthread_join(t, &r);
  printf("sqrt=%ld errno=%d cos=%.3f\n", (long)r, errno, cos(argc - 1.0));
  void *h = dlopen("libm.so.6", RTLD_NOW); double (*f)(double) = dlsym(h, "floor");
  printf("dl floor=%.1f\n", f(2.7));
  return 0;
}
