#include <stdio.h>

__attribute__((constructor(101)))
static void init1() { printf("init1 "); }

__attribute__((constructor))
static void init2() { printf("init2 "); }

__attribute__((destructor(101)))
static void fini1() { printf("fini1 "); }

__attribute__((destructor))
static void fini2() { printf("fini2 "); }

int main() {}
