/* Flat blocks of values that long-lived tensors view (see core.h). */
#include "internal.h"

#include <stdlib.h>

struct tc_block {
    tc_scalar *values; /* 64-byte aligned, inside mem */
    void *mem;
    int64_t len;
    tc_block *companion;
};

tc_block *tc_block_new(int64_t len)
{
    if (len < 0) {
        tc_error(TC_ERR_ARG, "block_new: length %lld", (long long)len);
        return NULL;
    }
    tc_block *b = calloc(1, sizeof *b);
    size_t bytes = ((size_t)(len ? len : 1) * sizeof(tc_scalar) + 63) & ~(size_t)63;
    /* calloc, not posix_memalign + memset: a large block comes from mmap as
     * zero pages that nothing touches until used, so a model's gradient
     * block costs nothing while the model stays frozen (VGG16's: 550 MB of
     * memset and page faults at start-up), and the weights block is touched
     * once, by the copy of the weights, instead of twice */
    if (b) b->mem = calloc(1, bytes + 64);
    if (!b || !b->mem) {
        free(b);
        tc_error(TC_ERR_MEMORY, "block_new: out of memory for %lld values", (long long)len);
        return NULL;
    }
    b->values = (tc_scalar *)(((uintptr_t)b->mem + 63) & ~(uintptr_t)63);
    b->len = len;
    return b;
}

void tc_block_free(tc_block *b)
{
    if (!b) return;
    free(b->mem);
    free(b);
}

tc_scalar *tc_block_values(const tc_block *b) { return b ? b->values : NULL; }
int64_t tc_block_length(const tc_block *b) { return b ? b->len : 0; }
tc_block *tc_block_companion(const tc_block *b) { return b ? b->companion : NULL; }
void tc_block_set_companion(tc_block *b, tc_block *companion)
{
    if (b) b->companion = companion;
}

tc_tensor *tc_block_view(tc_block *b, int64_t offset, int ndim, const int64_t *shape)
{
    if (!b || ndim < 0 || ndim > TC_MAX_DIMS || (ndim && !shape)) {
        tc_error(TC_ERR_ARG, "block_view: NULL block or bad shape");
        return NULL;
    }
    int64_t n = tc_shape_numel(ndim, shape);
    if (n < 0 || offset < 0 || offset + n > b->len) {
        tc_error(TC_ERR_ARG, "block_view: [%lld, %lld) outside a block of %lld values", (long long)offset,
                 (long long)(offset + n), (long long)b->len);
        return NULL;
    }
    tc_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        tc_error(TC_ERR_MEMORY, "block_view: out of memory");
        return NULL;
    }
    t->storage = b->values;
    t->offset = offset;
    t->data = b->values + offset;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    tc_contiguous_strides(ndim, t->shape, t->strides);
    t->flags = TC_LONG_LIVED; /* not TC_OWNS_DATA: the block's owner frees the values */
    t->block = b;
    return t;
}
