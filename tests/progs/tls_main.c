/* __thread across objects and threads: every thread gets its own copy of
   .tdata (initialized) and .tbss (zeroed), whichever TLS access model the
   objects were compiled with. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

extern __thread int t_init;
long use_sum(void);
void use_set(int v);
int *use_addr_init(void);
char *use_addr_buf(void);
int defs_bump(int by);
int *defs_addr_init(void);
char *defs_addr_buf(void);

/* Over-aligned TLS in the executable itself (local-exec). */
__thread int t_aligned __attribute__((aligned(64))) = 7;
static __thread long t_main_zero;

#define NT 4
struct result { long sum_before, sum_after; int bump, same_addr, aligned_ok, zero_ok; uintptr_t addr; };
static struct result results[NT];

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    struct result *r = &results[i];
    r->sum_before = use_sum();
    r->zero_ok = t_main_zero == 0 && use_addr_buf()[100] == 0;
    use_set(10 * (i + 1));
    t_main_zero = i;
    r->sum_after = use_sum();
    r->bump = defs_bump(i + 1);
    r->same_addr = use_addr_init() == defs_addr_init() && use_addr_init() == &t_init &&
                   use_addr_buf() == defs_addr_buf();
    r->aligned_ok = ((uintptr_t)&t_aligned % 64) == 0 && t_aligned == 7;
    r->addr = (uintptr_t)&t_init;
    return NULL;
}

int main(void)
{
    printf("main: sum=%ld t_init=%d aligned=%d align_ok=%d\n", use_sum(), t_init, t_aligned,
           (int)(((uintptr_t)&t_aligned % 64) == 0));
    use_set(1000);
    printf("main: after set sum=%ld bump=%d\n", use_sum(), defs_bump(100));
    pthread_t th[NT];
    for (int i = 0; i < NT; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) != 0) {
            puts("pthread_create failed");
            return 1;
        }
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    int distinct = 1;
    for (int i = 0; i < NT; i++) {
        struct result *r = &results[i];
        printf("thread %d: before=%ld after=%ld bump=%d same_addr=%d aligned_ok=%d zero_ok=%d\n", i,
               r->sum_before, r->sum_after, r->bump, r->same_addr, r->aligned_ok, r->zero_ok);
        if (r->addr == (uintptr_t)&t_init)
            distinct = 0;
        for (int j = 0; j < i; j++)
            if (results[j].addr == r->addr)
                distinct = 0;
    }
    printf("main: sum=%ld t_init=%d distinct=%d\n", use_sum(), t_init, distinct);
    return 0;
}
