#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) { printf("dlopen failed: %s\n", dlerror()); return 1; }
  int (*f)(int) = (int (*)(int))dlsym(h, "plugin_value");
  printf("plugin says %d\n", f(7));
  return dlclose(h);
}
