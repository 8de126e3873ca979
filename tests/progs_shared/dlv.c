#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
  int (*d)(void) = (int (*)(void))dlsym(h, "foo");
  int (*v1)(void) = (int (*)(void))dlvsym(h, "foo", "VER_1");
  int (*v2)(void) = (int (*)(void))dlvsym(h, "foo", "VER_2");
  printf("default=%d v1=%d v2=%d\n", d(), v1(), v2());
  return 0;
}
