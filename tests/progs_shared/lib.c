#include <stdio.h>
__thread int tls_counter = 5;
static __thread int local_tls = 100;
int shared_data = 10;
static int hidden_helper(int x) { return x * 2; }
__attribute__((visibility("hidden"))) int hidden_fn(int x) { return x + 1; }
int interposable(void) { return 1; }
int call_interposable(void) { return interposable(); }
int lib_func(int x) { tls_counter++; local_tls++; return hidden_helper(x) + hidden_fn(x) + shared_data + tls_counter + local_tls; }
int *data_addr(void) { return &shared_data; }
const char *greeting(void) { return "hello from lib"; }
