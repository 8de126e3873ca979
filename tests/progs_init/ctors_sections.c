#include <stdio.h>

static void ctor1() { printf("ctor1 "); }
static void ctor2() { printf("ctor2 "); }
static void ctor3() { printf("ctor3 "); }
static void ctor4() { printf("ctor4 "); }

static void dtor1() { printf("dtor1 "); }
static void dtor2() { printf("dtor2 "); }
static void dtor3() { printf("dtor3 "); }
static void dtor4() { printf("dtor4 "); }

__attribute__((aligned(sizeof(void *)), section(".ctors.65435")))
void (*ctors65435[])()  = { ctor1 };

__attribute__((aligned(sizeof(void *)), section(".ctors.65433")))
void (*ctors65433[])()  = { ctor2 };

__attribute__((aligned(sizeof(void *)), section(".ctors")))
void (*ctors[])()  = { ctor4, ctor3 };

__attribute__((aligned(sizeof(void *)), section(".dtors")))
void (*dtors[])()  = { dtor1, dtor2 };

__attribute__((aligned(sizeof(void *)), section(".dtors.65433")))
void (*dtors65433[])()  = { dtor3 };

__attribute__((aligned(sizeof(void *)), section(".dtors.65435")))
void (*dtors65435[])()  = { dtor4 };
