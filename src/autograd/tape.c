/* The tape: nodes in the order ops ran. backward walks it in reverse, so
 * every node's output gradient is complete before the node is visited. */
#include "autograd_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    tc_node **nodes;
    size_t len, cap;
    bool disabled; /* no-grad mode */
} tape;

static _Thread_local tape T;

bool tc_set_grad_enabled(bool enabled)
{
    bool was = !T.disabled;
    T.disabled = !enabled;
    return was;
}

bool tc_grad_enabled(void) { return !T.disabled; }

/* per thread, like the tape: one thread's saliency never changes another's training */
static _Thread_local tc_relu_grad_mode relu_grad_mode;
tc_relu_grad_mode tc_set_relu_grad_mode(tc_relu_grad_mode mode)
{
    tc_relu_grad_mode was = relu_grad_mode;
    relu_grad_mode = mode <= TC_RELU_GRAD_RECTIFIED && mode >= TC_RELU_GRAD_PLAIN ? mode : TC_RELU_GRAD_PLAIN;
    return was;
}
tc_relu_grad_mode tc_get_relu_grad_mode(void) { return relu_grad_mode; }
size_t tc_tape_length(void) { return T.len; }

void tc_tape_truncate(size_t len)
{
    if (len >= T.len) return;
    /* results of dropped nodes become leaves no longer: they are released */
    T.len = len;
}

void tc_tape_clear(void)
{
    for (size_t i = 0; i < T.len; i++) T.nodes[i]->out->node = NULL;
    T.len = 0;
}

void tc_tape_shutdown(void)
{
    free(T.nodes);
    T.nodes = NULL;
    T.len = T.cap = 0;
}

bool tc_needs_grad(int n_inputs, tc_tensor *const *inputs)
{
    if (T.disabled) return false;
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] && (inputs[i]->flags & TC_REQUIRES_GRAD)) return true;
    return false;
}

tc_node *tc_record(int op, tc_tensor *out, int n_inputs, tc_tensor *const *inputs, size_t saved_bytes)
{
    if (!out || !tc_needs_grad(n_inputs, inputs)) return NULL;
    if (T.len == T.cap) {
        size_t cap = T.cap ? T.cap * 2 : 1024;
        tc_node **grown = realloc(T.nodes, cap * sizeof *grown);
        if (!grown) {
            tc_error(TC_ERR_MEMORY, "%s: out of memory growing the tape", tc_op_name(op));
            return NULL;
        }
        T.nodes = grown;
        T.cap = cap;
    }
    tc_node *n = tc_arena_alloc(sizeof *n);
    tc_tensor **ins = tc_arena_alloc(sizeof *ins * (size_t)(n_inputs ? n_inputs : 1));
    void *saved = saved_bytes ? tc_arena_alloc(saved_bytes) : NULL;
    if (!n || !ins || (saved_bytes && !saved)) return NULL;
    if (saved) memset(saved, 0, saved_bytes);
    for (int i = 0; i < n_inputs; i++) ins[i] = inputs[i];
    n->op = op;
    n->n_inputs = n_inputs;
    n->inputs = ins;
    n->out = out;
    n->saved = saved;
    n->index = T.len;
    out->node = n;
    out->flags |= TC_REQUIRES_GRAD;
    out->grad = NULL;
    T.nodes[T.len++] = n;
    return n;
}

tc_tensor *tc_grad_for(tc_tensor *t)
{
    if (!t || !(t->flags & TC_REQUIRES_GRAD)) return NULL;
    if (!t->grad) {
        /* leaves made by tc_tensor_new keep a long-lived gradient that
         * accumulates across steps (in the companion block of a block's
         * weights: a model's gradients are one flat block too); everything
         * else gets a step gradient */
        tc_block *gb = tc_block_companion(t->block);
        bool leaf = (t->flags & TC_LONG_LIVED) && !t->node;
        if (leaf && gb) {
            t->grad = tc_block_view(gb, t->offset, t->ndim, t->shape);
            if (t->grad) memset(t->grad->data, 0, sizeof(tc_scalar) * (size_t)tc_numel(t));
        } else {
            t->grad = leaf ? tc_tensor_new(t->ndim, t->shape) : tc_zeros(t->ndim, t->shape);
        }
    }
    return t->grad;
}

tc_tensor *tc_grad_for_overwrite(tc_tensor *t, bool *fresh)
{
    *fresh = false;
    if (t && (t->flags & TC_REQUIRES_GRAD) && !t->grad && !((t->flags & TC_LONG_LIVED) && !t->node)) {
        t->grad = tc_empty(t->ndim, t->shape); /* a step gradient: the caller fills it */
        *fresh = t->grad != NULL;
        return t->grad;
    }
    return tc_grad_for(t);
}

/* Runs the tape backward from `out` whose gradient has been seeded. A
 * backward that fails (scratch memory, a gradient buffer) stops the walk:
 * the error names the op, and the gradients are incomplete. */
static tc_status run_backward(tc_tensor *out)
{
    size_t end = out->node->index + 1;
    bool was = tc_set_grad_enabled(false); /* backward kernels record nothing */
    tc_status s = TC_OK;
    for (size_t i = end; i-- > 0 && s == TC_OK;) {
        tc_node *n = T.nodes[i];
        if (!n->out->grad) continue;
        s = tc_op_backward(n, n->out->grad);
        /* a helper that could not allocate sets the error without returning it */
        if (s == TC_OK) s = tc_last_status();
        if (s != TC_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", tc_last_error());
            s = tc_error(s, "backward of %s (tape node %zu, output %s): %s", tc_op_name(n->op), i, TC_SHP(n->out), msg);
        }
    }
    tc_set_grad_enabled(was);
    return s;
}

static tc_status prepare(tc_tensor *out, const char *who)
{
    if (!out) return tc_error(TC_ERR_ARG, "%s: tensor is NULL", who);
    if (!out->node || out->node->index >= T.len || T.nodes[out->node->index] != out->node)
        return tc_error(TC_ERR_STATE, "%s: tensor %s was not computed from anything that requires a gradient "
                        "(or its tape was released)", who, TC_SHP(out));
    /* intermediate gradients are recomputed by each backward */
    for (size_t i = 0; i <= out->node->index; i++) T.nodes[i]->out->grad = NULL;
    tc_clear_error();
    return TC_OK;
}

tc_status tc_backward(tc_tensor *loss)
{
    tc_status s = prepare(loss, "backward");
    if (s) return s;
    if (tc_numel(loss) != 1)
        return tc_error(TC_ERR_SHAPE, "backward: loss has shape %s; give a tensor with one element "
                        "or use tc_backward_with", TC_SHP(loss));
    tc_tensor *g = tc_grad_for(loss);
    if (!g) return tc_last_status();
    g->data[0] = 1;
    return run_backward(loss);
}

/* The seed of tc_backward_with: a contiguous gradient of at least
 * SEED_SPLIT values is copied in blocks of SEED_BLOCK over the pool. A conv
 * output's gradient is megabytes (DeepDream's seed, the conv benchmarks'
 * train rows: 3.2 MB for ResNet's 56x56 x 256 map), and on one thread the
 * copy was 0.08 ms of the critical path of res2_1x1_out's 1.2 ms 2-thread
 * training step, all of it serial. A copy: the same values for any thread
 * count. */
#define SEED_SPLIT ((int64_t)128 * 1024)
#define SEED_BLOCK ((int64_t)64 * 1024)
typedef struct {
    const tc_scalar *src;
    tc_scalar *dst;
    int64_t n;
} seed_job;

static void seed_blocks(void *ctx, int64_t lo, int64_t hi)
{
    const seed_job *j = ctx;
    const int64_t b = lo * SEED_BLOCK, e = hi * SEED_BLOCK < j->n ? hi * SEED_BLOCK : j->n;
    memcpy(j->dst + b, j->src + b, sizeof(tc_scalar) * (size_t)(e - b));
}

static tc_status seed_copy(const tc_tensor *grad_out, tc_scalar *dst)
{
    const int64_t n = tc_numel(grad_out);
    if (n < SEED_SPLIT || !tc_is_contiguous(grad_out)) return tc_read_values(grad_out, dst);
    seed_job j = {grad_out->data, dst, n};
    tc_parallel_for((n + SEED_BLOCK - 1) / SEED_BLOCK, 1, seed_blocks, &j);
    return TC_OK;
}

tc_status tc_backward_with(tc_tensor *out, const tc_tensor *grad_out)
{
    tc_status s = prepare(out, "backward_with");
    if (s) return s;
    if (!grad_out) return tc_error(TC_ERR_ARG, "backward_with: grad_out is NULL");
    if (!tc_same_shape(out, grad_out))
        return tc_error(TC_ERR_SHAPE, "backward_with: output %s but gradient %s", TC_SHP(out), TC_SHP(grad_out));
    /* every value is written next: no zeroing first (a conv output's gradient is
     * megabytes, and zeroing it cost as much as the thin kernels' backward) */
    bool fresh;
    tc_tensor *g = tc_grad_for_overwrite(out, &fresh);
    if (!g) return tc_last_status();
    s = seed_copy(grad_out, g->data);
    if (s) return s;
    return run_backward(out);
}

void tc_tape_dump(FILE *f)
{
    if (!f) return;
    fprintf(f, "tape: %zu nodes\n", T.len);
    for (size_t i = 0; i < T.len; i++) {
        tc_node *n = T.nodes[i];
        fprintf(f, "  #%-4zu %-22s -> %-20s <-", i, tc_op_name(n->op), TC_SHP(n->out));
        for (int k = 0; k < n->n_inputs; k++) {
            tc_tensor *in = n->inputs[k];
            if (!in) fprintf(f, " (none)");
            else if (in->node) fprintf(f, " #%zu", in->node->index);
            else fprintf(f, " %s%s%s", in->name ? in->name : "leaf", TC_SHP(in),
                         (in->flags & TC_REQUIRES_GRAD) ? "*" : "");
        }
        fprintf(f, "\n");
    }
}
