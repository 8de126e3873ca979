/* ldpy's heap helper: a shared library that ldpy/heap.py loads into a link process.
 *
 * A big link spends a fifth of its time in page faults (llvm-big: ~140k of them, ~2 us
 * each on a VM, each one stalling the thread that touches a fresh page).  This moves
 * them to another core:
 *
 * - Python's object arenas come from malloc (ldpy_arenas, installed with
 *   PyObject_SetArenaAllocator) instead of a mmap each, so that nearly all of the
 *   process's memory is the one brk heap;
 * - once the heap is big (a big link), malloc keeps what is freed and serves arrays
 *   up to 32 MB from the heap, so that freed memory is reused instead of unmapped
 *   and faulted in again, and grows the heap TOP_PAD more than it needs;
 * - a thread (ldpy_heap_start) faults in those new pages (MADV_POPULATE_WRITE,
 *   Linux 5.14) as soon as malloc has grown the heap, ahead of the thread that will
 *   write them.  At most TOP_PAD bytes are faulted in and never used; a small
 *   link's heap is left alone.
 *
 * It changes where memory comes from, never what the link computes.  C99, POSIX
 * threads and glibc's malloc.h; without MADV_POPULATE_WRITE the thread just stops. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* found in the library by heap.build() (external: the compiler keeps it) */
const char ldpy_heap_stamp[] = "LDPY-STAMP:" LDPY_STAMP;

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* ---- Python's arena allocator (PyObjectArenaAllocator's layout) ---- */
typedef struct {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
} arena_allocator;

static arena_allocator previous;   /* for arenas made before the switch (mmap'd) */

/* the arenas malloc gave, as an open-addressing set (the GIL serializes every call) */
#define SLOTS 65536u
#define GONE ((void *)1)
static void *ours[SLOTS];
static size_t used_slots;           /* slots ever filled (entries and GONE marks) */

static size_t slot_of(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 40) & (SLOTS - 1);
}

static void *arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    void *p = NULL;
    /* (a full set: the rest come from the previous allocator) */
    if (used_slots < SLOTS / 2 && posix_memalign(&p, 16384, size) == 0) {
        size_t i = slot_of(p);
        while (ours[i] != NULL && ours[i] != GONE)
            i = (i + 1) & (SLOTS - 1);
        if (ours[i] == NULL)
            used_slots++;
        ours[i] = p;
        return p;
    }
    return previous.alloc(previous.ctx, size);
}

static void arena_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    for (size_t i = slot_of(p), n = 0; ours[i] != NULL && n < SLOTS; i = (i + 1) & (SLOTS - 1), n++) {
        if (ours[i] == p) {
            ours[i] = GONE;
            free(p);
            return;
        }
    }
    previous.free(previous.ctx, p, size);
}

/* Python asks for the allocator it replaces (PyObject_GetArenaAllocator's result) and
 * installs the one returned. */
arena_allocator *ldpy_arenas(const arena_allocator *replaced)
{
    static arena_allocator mine = {NULL, arena_alloc, arena_free};
    previous = *replaced;
    return &mine;
}

/* ---- the thread that faults in the heap ahead of the link ---- */
#define STEP (1u << 20)             /* bytes faulted in per call: ~0.5 ms of the kernel's
                                       time, during which malloc cannot grow the heap */
static size_t big_from = 64u << 20;  /* heap size from which the link counts as big */
#define TOP_PAD (16u << 20)         /* how far ahead of its need a big link's heap grows */

static volatile size_t populated;  /* bytes faulted in (ldpy_heap_populated: tests) */
static volatile int running;

/* Nothing while the heap is small (a small link keeps malloc's defaults and its
 * memory); from big_from on: arrays up to 32 MB from the heap, nothing given back, the
 * heap grown TOP_PAD ahead, and every new page of it faulted in here. */
static void *populate(void *arg)
{
    (void)arg;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)sbrk(0) + page - 1) & ~(page - 1);
    uintptr_t done = start;
    int big = 0;
    struct timespec nap = {0, 500000};
    for (;;) {
        uintptr_t brk = (uintptr_t)sbrk(0) & ~(page - 1);
        if (!big) {
            if (brk >= start + big_from) {
                mallopt(M_MMAP_THRESHOLD, 32 << 20);
                mallopt(M_TRIM_THRESHOLD, 0x7fffffff);   /* (from now on brk only grows) */
                mallopt(M_TOP_PAD, (int)TOP_PAD);
                big = 1;
                continue;
            }
        } else if (brk > done) {
            uintptr_t end = brk - done > STEP ? done + STEP : brk;
            if (madvise((void *)done, end - done, MADV_POPULATE_WRITE) != 0) {
                if (errno == EINTR || errno == EAGAIN)
                    continue;
                break;              /* (a kernel without it, or the heap is not brk's) */
            }
            populated += end - done;
            done = end;
            continue;
        }
        nanosleep(&nap, NULL);
    }
    running = 0;
    return NULL;
}

/* Start the thread (big: the heap size from which the link is big, 0 for the
 * default); 0 when it runs. */
int ldpy_heap_start(size_t big)
{
    if (big)
        big_from = big;
    pthread_t t;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 << 10);
    running = 1;
    int rc = pthread_create(&t, &attr, populate, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        running = 0;
    return rc == 0 ? 0 : -1;
}

size_t ldpy_heap_populated(void) { return populated; }
int ldpy_heap_running(void) { return running; }
