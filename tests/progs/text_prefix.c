/* hot, cold (.text.unlikely) and startup functions: -z keep-text-section-prefix */
#include <stdio.h>
#include <stdlib.h>
__attribute__((cold, noinline)) void oops(int x) { fprintf(stderr, "cold %d\n", x); }
__attribute__((hot, noinline)) int fast(int x) { return x * 3 + 1; }
__attribute__((noinline)) int plain(int x) { if (x > 1000) oops(x); return x - 1; }
__attribute__((constructor)) static void init(void) { puts("ctor"); }
int main(int argc, char **argv) { printf("%d %d\n", fast(argc + 4), plain(argc)); return 0; }
