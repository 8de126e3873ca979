#include <stdio.h>
#include <pthread.h>
extern __thread int lib_tls;           /* defined in a shared library */
extern __thread int lib_tls_zero;
extern int lib_counter;                /* data in a shared library: copy relocation without PIC */
int lib_get(void);
static __thread int mine = 3;
void *worker(void *arg) { lib_tls += 1; lib_tls_zero = 9; mine = 4;
  printf("thread %d %d %d\n", lib_tls, lib_tls_zero, mine); return 0; }
int main(void) {
  pthread_t t; pthread_create(&t, 0, worker, 0); pthread_join(t, 0);
  lib_counter += 1;
  printf("main %d %d %d %d\n", lib_tls, lib_tls_zero, mine, lib_get());
  return 0;
}
