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
 * truncate the tape first, then rewind the arena here.
 *
 * Recycling (tc_arena_recycle): a caller that knows a region of this step
 * is dead before the step ends (the ONNX interpreter, after a value's last
 * use) hands it back; later allocations of at least RECYCLE_MIN bytes take
 * the smallest recycled region that holds them before bumping, so a graph's
 * activations reuse a few cache-warm buffers instead of growing the arena
 * by every intermediate. Small allocations (tensor structs) always bump.
 * A rewind drops the recycled regions at or past its position. */
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

/* A recycled region: mem and arena offset of its first byte, its size. */
typedef struct {
    unsigned char *mem;
    size_t off, size;
} free_region;

#define RECYCLE_MIN ((size_t)16 << 10)
#define RECYCLE_SLOTS 128
#define TAKE_LOG 256

typedef struct {
    block *top;        /* newest block */
    size_t used;       /* total offset (bytes handed out, incl. padding) */
    size_t high_water;
    int reserve_failed; /* don't retry a refused reservation every step */
    int n_free;
    free_region free[RECYCLE_SLOTS]; /* sorted by offset, disjoint */
    int scopes;        /* open scratch scopes */
    int n_taken;       /* recycled memory handed out inside them (a full log forgets: safe) */
    free_region taken[TAKE_LOG];
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

/* The smallest recycled region that holds need bytes, cut from its front;
 * NULL if none. */
static void *take_recycled(size_t need)
{
    int best = -1;
    for (int i = 0; i < A.n_free; i++)
        if (A.free[i].size >= need && (best < 0 || A.free[i].size < A.free[best].size)) best = i;
    if (best < 0) return NULL;
    free_region *r = &A.free[best];
    void *p = r->mem;
    if (A.scopes && A.n_taken < TAKE_LOG) A.taken[A.n_taken++] = (free_region){r->mem, r->off, need};
    r->mem += need, r->off += need, r->size -= need;
    if (r->size < RECYCLE_MIN) { /* too small to serve anything: forget the rest */
        memmove(r, r + 1, sizeof *r * (size_t)(A.n_free - best - 1));
        A.n_free--;
    }
    return p;
}

void *tc_arena_alloc(size_t bytes)
{
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    if (A.n_free && need >= RECYCLE_MIN) {
        void *p = take_recycled(need);
        if (p) return p;
    }
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

bool tc_arena_offset_of(const void *p, size_t *offset)
{
    const unsigned char *q = p;
    for (const block *b = A.top; b; b = b->prev) {
        size_t live = b == A.top ? A.used - b->start : b->size; /* handed out so far */
        if (q >= b->mem && q < b->mem + live) {
            *offset = b->start + (size_t)(q - b->mem);
            return true;
        }
    }
    return false;
}

/* Adds [off, off + bytes) (memory mem) to the recycled regions, merged with
 * those it overlaps or touches in the same block (a scope's range may hold
 * regions a nested scope recycled already: all of it is dead). */
static void add_region(unsigned char *mem, size_t off, size_t bytes)
{
    uintptr_t base = (uintptr_t)mem - off; /* equal for all memory of one block */
    size_t lo = off, hi = off + bytes;
    int i = 0;
    while (i < A.n_free && A.free[i].off + A.free[i].size < lo) i++;
    if (i < A.n_free && A.free[i].off + A.free[i].size == lo && (uintptr_t)A.free[i].mem - A.free[i].off != base)
        i++; /* ends where this starts, in another block: not contiguous memory */
    int j = i;
    while (j < A.n_free && A.free[j].off <= hi && (uintptr_t)A.free[j].mem - A.free[j].off == base) {
        if (A.free[j].off < lo) lo = A.free[j].off;
        if (A.free[j].off + A.free[j].size > hi) hi = A.free[j].off + A.free[j].size;
        j++;
    }
    if (j == i) { /* a region of its own */
        if (A.n_free == RECYCLE_SLOTS) { /* full: give up the smallest region if this one is larger */
            int s = 0;
            for (int k = 1; k < A.n_free; k++)
                if (A.free[k].size < A.free[s].size) s = k;
            if (A.free[s].size >= bytes) return;
            memmove(&A.free[s], &A.free[s + 1], sizeof A.free[0] * (size_t)(A.n_free - s - 1));
            A.n_free--;
            if (s < i) i--;
        }
        memmove(&A.free[i + 1], &A.free[i], sizeof A.free[0] * (size_t)(A.n_free - i));
        A.n_free++;
    } else if (j > i + 1) { /* several merged into one */
        memmove(&A.free[i + 1], &A.free[j], sizeof A.free[0] * (size_t)(A.n_free - j));
        A.n_free -= j - i - 1;
    }
    A.free[i] = (free_region){(unsigned char *)(base + lo), lo, hi - lo};
}

void tc_arena_recycle(void *p, size_t bytes)
{
    size_t off;
    if (!p || !tc_arena_offset_of(p, &off)) return;
    /* inward to the allocation alignment, and within this block's handed-out part */
    size_t lead = (ARENA_ALIGN - off % ARENA_ALIGN) % ARENA_ALIGN;
    if (bytes <= lead) return;
    unsigned char *mem = (unsigned char *)p + lead;
    off += lead;
    bytes = (bytes - lead) & ~(size_t)(ARENA_ALIGN - 1);
    const block *b = A.top;
    while (b && b->start > off) b = b->prev;
    if (!b) return;
    size_t end = b == A.top ? A.used : b->start + b->size;
    if (off + bytes > end) bytes = end - off;
    if (bytes < RECYCLE_MIN) return;
    add_region(mem, off, bytes);
}

tc_arena_scope tc_arena_scope_begin(void)
{
    A.scopes++;
    return (tc_arena_scope){.position = A.used, .n_taken = A.n_taken};
}

/* Recycles [mem, mem + size) less the kept spans. */
static void recycle_minus(unsigned char *mem, size_t size, int n_keep, const tc_arena_span *keep)
{
    unsigned char *a = mem, *b = mem + size;
    while (a < b) {
        const tc_arena_span *first = NULL; /* the kept span overlapping [a, b) that starts first */
        for (int k = 0; k < n_keep; k++) {
            const unsigned char *lo = keep[k].lo, *hi = keep[k].hi;
            if (lo < b && hi > a && (!first || lo < (const unsigned char *)first->lo)) first = &keep[k];
        }
        if (!first) {
            tc_arena_recycle(a, (size_t)(b - a));
            return;
        }
        const unsigned char *lo = first->lo, *hi = first->hi;
        if (lo > a) tc_arena_recycle(a, (size_t)(lo - a));
        a = (unsigned char *)hi;
    }
}

void tc_arena_scope_end(tc_arena_scope s, int n_keep, const tc_arena_span *keep)
{
    if (A.scopes > 0) A.scopes--;
    if (n_keep < 0 || A.used < s.position) { /* abandoned, or rewound past its start */
        if (A.n_taken > s.n_taken) A.n_taken = s.n_taken;
        return;
    }
    for (int i = s.n_taken; i < A.n_taken; i++) recycle_minus(A.taken[i].mem, A.taken[i].size, n_keep, keep);
    if (A.n_taken > s.n_taken) A.n_taken = s.n_taken;
    /* the bumped part, block by block (a step past its first block has several) */
    for (const block *b = A.top; b && A.used > s.position; b = b->prev) {
        size_t end = b == A.top ? A.used : b->start + b->size;
        if (end <= s.position) break;
        size_t from = b->start > s.position ? b->start : s.position;
        if (end > from) recycle_minus(b->mem + (from - b->start), end - from, n_keep, keep);
    }
}

/* A rewind to position: recycled memory at or past it is no longer the
 * arena's to hand out (the bump pointer will hand it out again). */
static void drop_recycled_from(size_t position)
{
    /* and the log of what scopes took, from its first entry past position on
     * (forgetting is safe; moving entries would shift open scopes' starts) */
    for (int i = 0; i < A.n_taken; i++)
        if (A.taken[i].off + A.taken[i].size > position) {
            A.n_taken = i;
            break;
        }
    while (A.n_free && A.free[A.n_free - 1].off >= position) A.n_free--;
    if (A.n_free) {
        free_region *r = &A.free[A.n_free - 1];
        if (r->off + r->size > position) r->size = position - r->off;
        if (r->size < RECYCLE_MIN) A.n_free--;
    }
}

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
    drop_recycled_from(position);
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
    A.n_free = 0;
    A.n_taken = 0;
}
