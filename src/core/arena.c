/* The step arena: a bump allocator per thread for everything one step makes
 * (op results, tape nodes, saved values, gradients of intermediates).
 *
 * Memory a step touched is kept and reused by the next step: faulting fresh
 * pages in costs more than most steps' arithmetic (a style-transfer step
 * touches 1.2 GB), so the arena never gives memory back between steps.
 *
 * Normally the arena is one region: a large range of address space reserved
 * once per thread (PROT_NONE, so it costs no memory and no commit charge),
 * made usable in place (mprotect) as the high-water mark grows, with
 * transparent huge pages asked for. A step of any size after a bigger one
 * reuses the pages already faulted; a bigger one only faults the new part.
 *
 * Where the reservation is refused (no mmap, a small RLIMIT_AS) or used up,
 * it falls back to chained malloc'd blocks; released to empty while spread
 * over several blocks it keeps its largest block if that holds the high-water
 * mark, and replaces them all with one block of that size otherwise, so a
 * step of the same or a smaller size after that mallocs nothing.
 *
 * Offsets (tc_arena_position) are monotonic within a step: the rest of a
 * block that cannot hold an allocation is skipped, never reused.
 * Core knows no tape: the step functions of src/autograd (tc_step_release)
 * truncate the tape first, then rewind the arena here. */
#define _GNU_SOURCE
#include "internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define ARENA_ALIGN 64
#define ARENA_MIN_BLOCK ((size_t)1 << 20)
#define HUGE_PAGE ((size_t)2 << 20)
#define RESERVE_MAX ((size_t)64 << 30)

typedef struct block {
    struct block *prev;
    size_t size;       /* usable bytes now (committed, for a reserved block) */
    size_t reserved;   /* address space held (0: a malloc'd block) */
    size_t start;      /* arena offset of this block's first byte */
    unsigned char *mem;
} block;

typedef struct {
    block *top;        /* newest block */
    size_t used;       /* total offset (bytes handed out, incl. padding) */
    size_t high_water;
    int reserve_failed; /* don't retry a refused reservation every step */
} arena;

static _Thread_local arena A;
/* allocations of memory the arena has made (mallocs, mmaps, in-place
 * growths); approximate under threads; used by tests on one thread */
static size_t malloc_count;

/* A worker thread that ends (tc_set_num_threads restarts the pool) frees
 * its arena: its reservation would otherwise stay held for the process. */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static void on_thread_exit(void *unused)
{
    (void)unused;
    tc_arena_shutdown();
}
static void make_exit_key(void) { (void)pthread_key_create(&exit_key, on_thread_exit); }
static void free_at_thread_exit(void)
{
    pthread_once(&exit_once, make_exit_key);
    (void)pthread_setspecific(exit_key, &A); /* any non-NULL value: the destructor runs */
}

static void count_allocation(size_t n) { __atomic_add_fetch(&malloc_count, n, __ATOMIC_RELAXED); }

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* How much address space one thread's arena reserves: 64 GB, but never more
 * than the machine's memory nor an eighth of a finite RLIMIT_AS, so the
 * reservation cannot crowd out ordinary mallocs. TENSORCOOK_ARENA=malloc
 * reserves nothing (the fallback, so tests can cover it). */
static size_t reserve_size(void)
{
    const char *mode = getenv("TENSORCOOK_ARENA");
    if (mode && strcmp(mode, "malloc") == 0) return 0;
    size_t r = RESERVE_MAX;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && (size_t)pages * (size_t)page < r) r = (size_t)pages * (size_t)page;
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur / 8 < r)
        r = (size_t)(lim.rlim_cur / 8);
    return r / HUGE_PAGE * HUGE_PAGE;
}

/* Reserves address space aligned to a huge page (so THP can back it), none
 * of it usable yet. NULL: refused. */
static unsigned char *reserve(size_t bytes)
{
    size_t span = bytes + HUGE_PAGE;
    void *p = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    uintptr_t lo = (uintptr_t)p, aligned = (lo + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (aligned > lo) munmap(p, aligned - lo);
    if (aligned + bytes < lo + span) munmap((void *)(aligned + bytes), lo + span - (aligned + bytes));
#ifdef MADV_HUGEPAGE
    madvise((void *)aligned, bytes, MADV_HUGEPAGE); /* a hint: refusal is fine */
#endif
    return (unsigned char *)aligned;
}

/* Makes a reserved block usable up to at least `bytes` (with 25% headroom
 * so a growing first step makes few calls). False: out of reservation or
 * refused. */
static bool block_grow(block *b, size_t bytes)
{
    if (!b->reserved || bytes > b->reserved) return false;
    if (bytes <= b->size) return true;
    size_t want = round_up(bytes, HUGE_PAGE);
    size_t headroom = round_up(b->size + b->size / 4, HUGE_PAGE);
    if (want < headroom) want = headroom;
    if (want > b->reserved) want = b->reserved;
    if (mprotect(b->mem + b->size, want - b->size, PROT_READ | PROT_WRITE) != 0) return false;
    count_allocation(1);
    b->size = want;
    return true;
}

/* A block of at least `size` usable bytes at arena offset `start`: the
 * thread's reservation if it has none yet, else malloc'd memory. */
static block *block_new(size_t size, size_t start, bool try_reserve)
{
    block *b = malloc(sizeof *b);
    if (!b) return NULL;
    b->prev = NULL;
    b->start = start;
    b->size = 0;
    b->reserved = 0;
    if (try_reserve && !A.reserve_failed) {
        size_t r = reserve_size();
        b->mem = r && r >= size ? reserve(r) : NULL;
        if (b->mem) {
            b->reserved = r;
            count_allocation(2);
            if (block_grow(b, size)) return b;
            munmap(b->mem, r);
            b->reserved = 0;
        }
        A.reserve_failed = 1;
    }
    if (posix_memalign((void **)&b->mem, ARENA_ALIGN, size) != 0) {
        free(b);
        return NULL;
    }
    count_allocation(2);
    b->size = size;
    return b;
}

static void block_free(block *b)
{
    if (b->reserved) munmap(b->mem, b->reserved);
    else free(b->mem);
    free(b);
}

void *tc_arena_alloc(size_t bytes)
{
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    block *b = A.top;
    if (b && A.used + need > b->start + b->size && !block_grow(b, A.used + need - b->start)) {
        /* the rest of the current block is skipped: offsets stay monotonic */
        size_t start = b->start + b->size;
        size_t size = need > ARENA_MIN_BLOCK ? need : ARENA_MIN_BLOCK;
        if (size < b->size * 2) size = b->size * 2;
        block *nb = block_new(size, start, false);
        if (!nb) goto out_of_memory;
        nb->prev = b;
        A.top = nb;
        A.used = start;
        b = nb;
    } else if (!b) {
        free_at_thread_exit();
        b = block_new(need > ARENA_MIN_BLOCK ? need : ARENA_MIN_BLOCK, 0, true);
        if (!b) goto out_of_memory;
        A.top = b;
        A.used = 0;
    }
    void *p = b->mem + (A.used - b->start);
    A.used += need;
    if (A.used > A.high_water) A.high_water = A.used;
    return p;
out_of_memory:
    tc_error(TC_ERR_MEMORY, "arena: out of memory allocating %zu bytes", bytes);
    return NULL;
}

size_t tc_arena_position(void) { return A.used; }

/* The step is over and it needed several blocks (only in the fallback, or
 * past the reservation): keep one block that holds the high-water mark, so
 * the next step of that size allocates nothing. The largest block is kept
 * when it is (or can grow in place to) big enough: its pages are faulted in
 * already; otherwise one block of the high-water size replaces them all. */
static size_t capacity(const block *b) { return b->reserved ? b->reserved : b->size; }

static void consolidate(void)
{
    block *largest = A.top;
    for (block *b = A.top; b; b = b->prev)
        if (capacity(b) > capacity(largest)) largest = b;
    bool keep = block_grow(largest, A.high_water) || largest->size >= A.high_water;
    while (A.top) {
        block *prev = A.top->prev;
        if (A.top != largest || !keep) block_free(A.top);
        A.top = prev;
    }
    if (keep) {
        largest->prev = NULL;
        largest->start = 0;
        A.top = largest;
    } else {
        A.top = block_new(A.high_water, 0, false); /* NULL: the next alloc retries */
    }
}

void tc_arena_rewind(size_t position)
{
    if (position == 0 && A.top && A.top->prev) consolidate();
    /* drop blocks that start after the position (a nested mark's overflow) */
    while (A.top && A.top->start > position) {
        block *prev = A.top->prev;
        block_free(A.top);
        A.top = prev;
    }
    A.used = position;
}

size_t tc_arena_high_water(void) { return A.high_water; }
size_t tc_arena_malloc_count(void) { return __atomic_load_n(&malloc_count, __ATOMIC_RELAXED); }

void tc_arena_shutdown(void)
{
    while (A.top) {
        block *prev = A.top->prev;
        block_free(A.top);
        A.top = prev;
    }
    A.used = 0;
    A.high_water = 0;
    A.reserve_failed = 0;
}
