/* The step arena: a bump allocator per thread for everything one step makes
 * (op results, tape nodes, saved values, gradients of intermediates).
 *
 * It grows by chained blocks; when released to empty while spread over
 * several blocks, it replaces them with one block of the high-water size, so
 * from the second step on a step that makes the same tensors never mallocs.
 * Core knows no tape: the step functions of src/autograd (tc_step_release)
 * truncate the tape first, then rewind the arena here. */
#include "internal.h"

#include <stdlib.h>

#define ARENA_ALIGN 64
#define ARENA_MIN_BLOCK ((size_t)1 << 20)

typedef struct block {
    struct block *prev;
    size_t size;       /* usable bytes after the header */
    size_t start;      /* arena offset of this block's first byte */
    unsigned char *mem;
} block;

typedef struct {
    block *top;        /* newest block */
    size_t used;       /* total offset (bytes handed out, incl. padding) */
    size_t high_water;
} arena;

static _Thread_local arena A;
static size_t malloc_count; /* approximate under threads; used by tests on one thread */

static block *block_new(size_t size, size_t start)
{
    block *b = malloc(sizeof *b);
    if (!b) return NULL;
    if (posix_memalign((void **)&b->mem, ARENA_ALIGN, size) != 0) {
        free(b);
        return NULL;
    }
    __atomic_add_fetch(&malloc_count, 2, __ATOMIC_RELAXED);
    b->size = size;
    b->start = start;
    b->prev = NULL;
    return b;
}

static void block_free(block *b)
{
    free(b->mem);
    free(b);
}

void *tc_arena_alloc(size_t bytes)
{
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    block *b = A.top;
    if (!b || A.used + need > b->start + b->size) {
        /* the rest of the current block is skipped: offsets stay monotonic */
        size_t start = b ? b->start + b->size : 0;
        size_t size = need > ARENA_MIN_BLOCK ? need : ARENA_MIN_BLOCK;
        if (b && size < b->size * 2) size = b->size * 2;
        block *nb = block_new(size, start);
        if (!nb) {
            tc_error(TC_ERR_MEMORY, "arena: out of memory allocating %zu bytes", bytes);
            return NULL;
        }
        nb->prev = b;
        A.top = nb;
        A.used = start;
        b = nb;
    }
    void *p = b->mem + (A.used - b->start);
    A.used += need;
    if (A.used > A.high_water) A.high_water = A.used;
    return p;
}

size_t tc_arena_position(void) { return A.used; }

void tc_arena_rewind(size_t position)
{
    if (position == 0 && A.top && A.top->prev) {
        /* the step is over and it needed several blocks: replace them with
         * one block of the high-water size, so the next step mallocs nothing */
        while (A.top) {
            block *prev = A.top->prev;
            block_free(A.top);
            A.top = prev;
        }
        A.top = block_new(A.high_water, 0);
    }
    /* drop blocks that start after the position */
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
}
