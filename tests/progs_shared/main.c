#include <stdio.h>
int lib_func(int); int *data_addr(void); const char *greeting(void); int call_interposable(void);
extern int shared_data; extern __thread int tls_counter;
int interposable(void) { return 2; }   /* the executable's definition wins */
int main(void) {
  printf("%d\n", lib_func(3));
  printf("%d %d\n", *data_addr(), data_addr() == &shared_data);
  printf("%s %d %d\n", greeting(), tls_counter, call_interposable());
  return 0;
}
