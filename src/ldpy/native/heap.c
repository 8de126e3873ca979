/* ldpy's heap helper: a shared library that ldpy/heap.py loads into a link process.
 *
 * A big link spends a fifth of its time in page faults (llvm-big: ~140k of them, ~2 us
 * each on a VM, each one stalling the thread that touches a fresh page).  This moves
 * most of them to another core:
 *
 * - Python's object arenas (ldpy_arenas, installed with PyObject_SetArenaAllocator)
 *   are carved one after the other from big regions of address space, instead of a
 *   mmap each, and a freed arena is kept for the next one (its pages stay in);
 * - once the link is big (big_from bytes of heap and arenas, 64 MB), malloc keeps
 *   what is freed and serves arrays up to 32 MB from its heap, so that freed memory
 *   is reused instead of unmapped and faulted in again, and grows the heap TOP_PAD
 *   more than it needs;
 * - a thread (ldpy_heap_start) then faults in (MADV_POPULATE_WRITE, Linux 5.14) the
 *   heap's new pages as soon as malloc has grown it (of a big block, only its last
 *   TOP_PAD bytes: the link writes the block itself at once), and the next
 *   ARENAS_AHEAD bytes of the arena region, before the link writes them.  At most
 *   TOP_PAD + ARENAS_AHEAD bytes are faulted in and never used; a small link is left
 *   alone;
 * - a link server's spare, with no thread, faults in a link's first heap and arena
 *   pages before its link comes (ldpy_heap_prepare).
 *
 * It changes where memory comes from, never what the link computes.  C99, POSIX
 * threads, mmap and glibc's malloc.h; without MADV_POPULATE_WRITE the thread stops. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
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

static arena_allocator previous;   /* for arenas made before the switch (mmap'd), and
                                      for any request of another size */

#define REGION (256u << 20)         /* address space reserved at a time for arenas */
#define MAX_REGIONS 64
static char *regions[MAX_REGIONS];  /* each REGION bytes, aligned to 1 MiB */
static int nregions;
static size_t arena_size;           /* the size Python asks for (the first request's) */
static void *free_arenas;           /* freed arenas, linked through their first word */
/* the region arenas are carved from and the next arena's place in it (read by the
 * thread: published with atomic stores) */
static char *volatile carve_region;
static char *volatile carve_next;
static volatile size_t arena_bytes; /* carved so far */

static int ours(const void *p)
{
    for (int i = 0; i < nregions; i++)
        if ((const char *)p >= regions[i] && (const char *)p < regions[i] + REGION)
            return 1;
    return 0;
}

static void *arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (arena_size == 0)
        arena_size = size;
    if (size == arena_size) {
        if (free_arenas != NULL) {
            void *p = free_arenas;
            free_arenas = *(void **)p;
            return p;
        }
        char *next = carve_next;
        if (carve_region == NULL || next + size > carve_region + REGION) {
            char *r = NULL;
            if (nregions < MAX_REGIONS && size <= REGION / 2) {
                size_t align = 1u << 20;
                void *m = mmap(NULL, REGION + align, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (m != MAP_FAILED)
                    r = (char *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
            }
            if (r == NULL)
                return previous.alloc(previous.ctx, size);
            regions[nregions++] = r;
            __atomic_store_n(&carve_next, r, __ATOMIC_RELEASE);
            __atomic_store_n(&carve_region, r, __ATOMIC_RELEASE);
            next = r;
        }
        __atomic_store_n(&carve_next, next + size, __ATOMIC_RELEASE);
        arena_bytes += size;
        return next;
    }
    return previous.alloc(previous.ctx, size);
}

static void arena_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    if (size == arena_size && ours(p)) {
        *(void **)p = free_arenas;      /* (kept, pages and all, for the next arena) */
        free_arenas = p;
        return;
    }
    previous.free(previous.ctx, p, size);
}

/* Python asks for the allocator it replaces (PyObject_GetArenaAllocator's result) and
 * installs the one returned.  (Python calls it with the GIL held: no locking.) */
arena_allocator *ldpy_arenas(const arena_allocator *replaced)
{
    static arena_allocator mine = {NULL, arena_alloc, arena_free};
    previous = *replaced;
    return &mine;
}

/* ---- the thread that faults in memory ahead of the link ---- */
#define STEP (1u << 20)             /* bytes faulted in per call: ~0.5 ms of the kernel's
                                       time, during which malloc cannot grow the heap */
#define TOP_PAD (8u << 20)          /* how far ahead of its need a big link's heap grows */
#define ARENAS_AHEAD (4u << 20)     /* arena bytes faulted in ahead of the next arena */
static size_t big_from = 64u << 20; /* heap and arena bytes from which a link is big */

static volatile size_t populated;   /* bytes faulted in (ldpy_heap_populated: tests) */
static volatile int running;
static volatile int stop_asked;     /* ldpy_heap_stop: the thread ends after its step */

/* malloc from now on: freed memory kept (brk only grows), arrays up to 32 MB (its
 * largest mmap threshold) from the heap, so that a big link's temporaries reuse pages
 * already faulted in instead of fresh mappings */
static void keep_freed_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
}

/* MADV_POPULATE_WRITE over [from, to): 0, or -1 when the kernel refuses it */
static int populate_range(uintptr_t from, uintptr_t to)
{
    while (madvise((void *)from, to - from, MADV_POPULATE_WRITE) != 0)
        if (errno != EINTR && errno != EAGAIN)
            return -1;
    populated += to - from;
    return 0;
}

/* The thread's step: populate_range, and -1 (stop) when the link is past
 * THREAD_LIMIT or a step took more than SLOW_STEP: on a VM whose host backs a guest's
 * memory lazily, a footprint of gigabytes can make faults several times dearer, and
 * two threads faulting side by side then cost far more than one (llvm-big-x4: 12-14 s
 * of system time in a third of the runs, against 4-7 s). */
#define THREAD_LIMIT ((size_t)1 << 30)
#define SLOW_STEP 20000000L         /* ns for one STEP: ~35x the usual */

static int thread_step(uintptr_t from, uintptr_t to)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (populate_range(from, to) != 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ns = (long)(b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    return ns > SLOW_STEP || populated > THREAD_LIMIT ? -1 : 0;
}

static void *populate(void *arg)
{
    (void)arg;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)sbrk(0) + page - 1) & ~(page - 1);
    uintptr_t heap_done = start;    /* the heap is faulted in up to here */
    char *arena_region = NULL;      /* the arena region faulted in, up to arena_done */
    uintptr_t arena_done = 0;
    int big = 0;
    struct timespec nap = {0, 500000};
    while (!stop_asked) {
        uintptr_t brk = (uintptr_t)sbrk(0) & ~(page - 1);
        if (!big) {
            if (brk - start + arena_bytes >= big_from) {
                keep_freed_memory();
                mallopt(M_TOP_PAD, (int)TOP_PAD);
                big = 1;
                continue;
            }
            nanosleep(&nap, NULL);
            continue;
        }
        if (brk > heap_done) {
            if (brk - heap_done > 2 * (uintptr_t)TOP_PAD)
                heap_done = brk - TOP_PAD;  /* (a big block: the link writes it now itself;
                                               racing it for the same pages costs both) */
            uintptr_t end = brk - heap_done > STEP ? heap_done + STEP : brk;
            if (thread_step(heap_done, end) != 0)
                break;              /* (a kernel without it, the heap is not brk's, or
                                       faults got dear: see thread_step) */
            heap_done = end;
            continue;
        }
        char *region = __atomic_load_n(&carve_region, __ATOMIC_ACQUIRE);
        if (region != NULL) {
            uintptr_t next = (uintptr_t)__atomic_load_n(&carve_next, __ATOMIC_ACQUIRE);
            if (region != arena_region || next < (uintptr_t)region || next > (uintptr_t)region + REGION) {
                arena_region = region;  /* (a new region: from its next arena on) */
                arena_done = (uintptr_t)region;
                if (next >= (uintptr_t)region && next <= (uintptr_t)region + REGION)
                    arena_done = next;
                continue;
            }
            uintptr_t want = next + ARENAS_AHEAD;
            if (want > (uintptr_t)region + REGION)
                want = (uintptr_t)region + REGION;
            if (want > arena_done) {
                uintptr_t from = arena_done > next ? arena_done : next;
                uintptr_t end = want - from > STEP ? from + STEP : want;
                if (thread_step(from, end) != 0)
                    break;
                arena_done = end;
                continue;
            }
        }
        nanosleep(&nap, NULL);
    }
    running = 0;
    return NULL;
}

/* a forked child has no thread (ldpy_heap_stop must not wait for one) */
static void no_thread_in_child(void) { running = 0; }

/* Start the thread (big: the bytes of heap and arenas from which the link is big, 0
 * for the default); 0 when it runs. */
int ldpy_heap_start(size_t big)
{
    if (big)
        big_from = big;
    pthread_atfork(NULL, NULL, no_thread_in_child);
    pthread_t t;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 << 10);
    running = 1;
    /* the thread is born with every signal blocked: a signal for the link (SIGINT,
     * SIGTERM) must go to the main thread, which may be blocked in a system call
     * that only a signal delivered to it interrupts (open() of a FIFO input) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, &attr, populate, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        running = 0;
    return rc == 0 ? 0 : -1;
}

/* End the thread (after its current step) and wait for that: before the writer
 * forks its workers, whose copy of the output competes with the thread for the
 * cores (llvm-big: the .symtab worker was 250 ms late in one link of five). */
void ldpy_heap_stop(void)
{
    struct timespec nap = {0, 100000};
    stop_asked = 1;
    for (int i = 0; running && i < 1000; i++)
        nanosleep(&nap, NULL);
}

/* ---- a link server's spare: memory faulted in before its link comes ---- */
#define PREPARE_CHUNK (16u << 20)   /* below malloc's largest mmap threshold (32 MB) */
static void *prepared[16];         /* malloc'd blocks being faulted in, freed at the end */
static int nprepared;
static uintptr_t prepare_at;        /* the next byte to fault in: of the last block, */
static int prepare_stage;           /* ... or of the arena region (stage 1) */

/* One step (STEP bytes at most) of faulting in `heap` bytes of malloc's heap and
 * `arenas` bytes of arena space ahead of the next arena, for the link a spare will
 * run: 1 while there is more to do, 0 when done (or stopped: heap 0).  The heap's
 * blocks are freed when done, so the link's allocations find their pages in; malloc
 * keeps freed memory and serves arrays up to 32 MB from the heap from the first call
 * on.  A spare calls it until a link comes, then once with heap 0. */
int ldpy_heap_prepare(size_t heap, size_t arenas)
{
    if (heap == 0 || prepare_stage > 1) {
        for (int i = 0; i < nprepared; i++)
            free(prepared[i]);
        nprepared = 0;
        prepare_stage = 2;
        return 0;
    }
    if (nprepared == 0 && prepare_stage == 0)
        keep_freed_memory();
    if (prepare_stage == 0) {
        uintptr_t end = nprepared ? (uintptr_t)prepared[nprepared - 1] + PREPARE_CHUNK : 0;
        if (nprepared == 0 || prepare_at >= end) {
            if ((size_t)nprepared * PREPARE_CHUNK >= heap || nprepared == 16) {
                prepare_stage = 1;
                prepare_at = 0;
                return 1;
            }
            void *p = malloc(PREPARE_CHUNK);
            if (p == NULL) {
                prepare_stage = 1;
                return 1;
            }
            prepared[nprepared++] = p;
            prepare_at = (uintptr_t)p;
            end = prepare_at + PREPARE_CHUNK;
        }
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t from = (prepare_at + page - 1) & ~(page - 1);
        uintptr_t to = (from + STEP < end ? from + STEP : end) & ~(page - 1);
        if (to > from && populate_range(from, to) != 0) {
            prepare_stage = 1;          /* (a kernel without it: nothing more to try) */
            return 1;
        }
        prepare_at = to > from ? to : end;
        return 1;
    }
    /* stage 1: the arena region after the next arena */
    char *region = carve_region;
    if (region == NULL)
        return ldpy_heap_prepare(0, 0);
    uintptr_t next = (uintptr_t)carve_next, limit = (uintptr_t)region + REGION;
    uintptr_t want = next + arenas < limit ? next + arenas : limit;
    if (prepare_at < next)
        prepare_at = next;
    if (prepare_at >= want)
        return ldpy_heap_prepare(0, 0);
    uintptr_t to = prepare_at + STEP < want ? prepare_at + STEP : want;
    if (populate_range(prepare_at, to) != 0)
        return ldpy_heap_prepare(0, 0);
    prepare_at = to;
    return 1;
}

size_t ldpy_heap_populated(void) { return populated; }
int ldpy_heap_running(void) { return running; }
