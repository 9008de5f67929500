/* Inverted-residual chains run image by image (inference only).
 *
 * MobileNet-v2's blocks are expand 1x1 + ReLU6 -> depthwise 3x3 + ReLU6 ->
 * project 1x1 (+ residual Add), each Conv the only reader of the one before.
 * Run node by node over a batch of 8, the expanded maps no longer fit in
 * the caches (8 x 112 x 112 x 96 floats = 38 MB at the second block): each
 * Conv writes its map to memory and the next reads it back, and the batch
 * ran at 0.85x the per-image speed of batch 1 in the large-map blocks. Run
 * one image at a time, a block's maps are one image's (4.8 MB at most,
 * reused from image to image in the same arena memory), so the chain runs
 * from cache as at batch 1.
 *
 * Same bits as the node-by-node run: every image goes through the same
 * translations (op_conv with its fused epilogue) on a one-image view, and
 * the convolutions compute each output from its own image only, in the
 * same order whatever the batch (tests/test_onnx_block.c checks this
 * exactly, on 1 and 2 threads and every instruction set).
 *
 * Declined (node by node) where that could change bits: the generic path
 * (OpenBLAS), bf16/int8 kernels, Winograd with a 3x3 one-group Conv in the
 * chain, one-pixel maps (a GEMV per image), or a gradient to record.
 *
 * TENSORCOOK_ONNX_BLOCK: 0 never; N > 0 when the batch's largest
 * intermediate map is at least N KiB [4096]; batches of one never (their
 * maps are the chain's own already). */
#include "onnx_block.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* only node reading value v (none of the graph's outputs, nothing a subgraph
 * captures), or -1 */
static int only_reader(const tc_onnx_model *m, int v)
{
    if (v < 0) return -1;
    for (int i = 0; i < m->n_outputs; i++)
        if (m->outputs[i] == v) return -1;
    int reader = -1;
    for (int k = 0; k < m->n_nodes; k++) {
        const onnx_node *nd = &m->nodes[k];
        if (nd->skip) continue;
        for (int i = 0; i < nd->n_in; i++)
            if (nd->in[i] == v) {
                if (reader >= 0) return -1;
                reader = k;
            }
        for (int b = 0; b < 2; b++)
            for (int i = 0; nd->sub[b] && i < nd->sub[b]->n_values; i++)
                if (nd->sub[b]->values[i].outer == v) return -1;
    }
    return reader;
}

static bool is_conv(const onnx_node *n)
{
    const char *d = n->proto->domain;
    return n->op && n->proto->op_type && !strcmp(n->proto->op_type, "Conv") && (!d || !d[0] || !strcmp(d, "ai.onnx")) &&
           !n->prep_error && !n->skip && !n->fused_into && n->n_out == 1 && n->n_in >= 2 && n->n_in <= 3;
}

/* the value a Conv writes: its last absorbed node's output, or its own */
static int tail_value(const onnx_node *n) { return n->fusion ? n->fusion->out_value : n->out[0]; }

/* value v is known before node first runs: an initializer, an input, or
 * computed by an earlier node (PyTorch exports shared biases as Identity
 * nodes at the top of the graph) */
static bool known_before(const tc_onnx_model *m, int v, int first)
{
    return v < 0 || m->values[v].init || m->values[v].producer < first;
}

/* Conv n may be in a chain starting at node first: its weights, bias and
 * residual (if any) are known before the chain runs */
static bool chain_ok(const tc_onnx_model *m, const onnx_node *n, int first)
{
    if (!is_conv(n)) return false;
    for (int i = 1; i < n->n_in; i++)
        if (!known_before(m, n->in[i], first)) return false;
    return !n->fusion || known_before(m, n->fusion->residual, first);
}

tc_status tc_onnx_plan_blocks(tc_onnx_model *m)
{
    for (int k = 0; k < m->n_nodes; k++) {
        free(m->nodes[k].block);
        m->nodes[k].block = NULL;
    }
    for (int k = 0; k < m->n_nodes; k++) {
        onnx_block b = {.n = 1, .node = {k}};
        if (!chain_ok(m, &m->nodes[k], k)) continue;
        while (b.n < TC_ONNX_BLOCK_MAX) {
            const onnx_node *last = &m->nodes[b.node[b.n - 1]];
            int v = tail_value(last), j = only_reader(m, v);
            if (j < 0 || m->nodes[j].in[0] != v || !chain_ok(m, &m->nodes[j], k)) break;
            b.node[b.n++] = j;
        }
        if (b.n < 2) continue;
        if (!(m->nodes[k].block = malloc(sizeof b))) return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
        *m->nodes[k].block = b;
        k = b.node[b.n - 1]; /* chains do not overlap */
    }
    return TC_OK;
}

/* the threshold in bytes, or 0 when off */
static size_t threshold(void)
{
    const char *e = getenv("TENSORCOOK_ONNX_BLOCK");
    if (!e || !*e) return (size_t)4096 << 10;
    long kib = strtol(e, NULL, 10);
    return kib > 0 ? (size_t)kib << 10 : 0;
}

/* 2 x the multiply-adds of a Conv, as the profiler counts them */
static double conv_flops(const tc_tensor *w, const tc_tensor *y)
{
    return w->ndim >= 3 && w->shape[0] > 0 ? 2.0 * (double)tc_numel(y) * (double)(tc_numel(w) / w->shape[0]) : 0;
}

/* per chain node: wall and CPU seconds and FLOPs over the images (profiling) */
typedef struct {
    double s[TC_ONNX_BLOCK_MAX], cpu[TC_ONNX_BLOCK_MAX], flops[TC_ONNX_BLOCK_MAX];
} chain_prof;

/* Image n of x through the chain on the calling thread (c: a context of its
 * own, pr: NULL or the profile sums). The last output (a step tensor), or
 * NULL: *declined (an epilogue did not apply, its nodes must run as
 * themselves; or a one-pixel map, whose 1x1 product would be a GEMV per
 * image and a GEMM over the batch), else failed (error set). */
static tc_tensor *one_image(onnx_ctx *c, const onnx_block *b, tc_tensor *x, int64_t n, bool *declined,
                            chain_prof *pr)
{
    tc_onnx_model *m = c->m;
    *declined = false;
    tc_tensor *cur = tc_narrow(x, 0, n, 1);
    for (int i = 0; cur && i < b->n; i++) {
        const onnx_node *nd = &m->nodes[b->node[i]];
        tc_tensor *in[3] = {cur, c->val[nd->in[1]], nd->n_in > 2 && nd->in[2] >= 0 ? c->val[nd->in[2]] : NULL};
        tc_tensor *out[1] = {NULL};
        for (int t = 0; t < nd->n_in; t++) c->in_dtype[t] = TC_ONNX_FLOAT;
        c->out_dtype[0] = TC_ONNX_FLOAT;
        c->node = nd, c->label = nd->label;
        c->fusion = nd->fusion, c->residual = NULL, c->fused = false;
        if (nd->fusion && nd->fusion->residual >= 0 && !(c->residual = tc_narrow(c->val[nd->fusion->residual], 0, n, 1)))
            return NULL;
        double wall0 = 0, cpu0 = 0;
        if (pr) tc_onnx_profile_clock(&wall0, &cpu0);
        if (nd->op->fn(c, nd, nd->n_in, in, 1, out) != TC_OK) return NULL;
        if (pr) {
            double wall, cpu;
            tc_onnx_profile_clock(&wall, &cpu);
            pr->s[i] += wall - wall0, pr->cpu[i] += cpu - cpu0;
            pr->flops[i] += out[0] ? conv_flops(in[1], out[0]) : 0;
        }
        if ((nd->fusion && !c->fused) || !out[0] || out[0]->ndim != 4 || out[0]->shape[2] * out[0]->shape[3] < 2) {
            *declined = true;
            return NULL;
        }
        cur = out[0];
    }
    return cur;
}

/* y (the chain's last output on one image) as image n of the batch's
 * channels-last result; made here when *batch is NULL */
static bool store_image(tc_tensor **batch, int64_t N, int64_t n, tc_tensor *y)
{
    tc_tensor *cl = tc_onnx_to_cl(y);
    if (cl && !tc_is_contiguous(cl)) cl = tc_contiguous(cl);
    if (!cl || cl->ndim != 4 || cl->shape[0] != 1) return false;
    if (!*batch) {
        int64_t shape[4] = {N, cl->shape[1], cl->shape[2], cl->shape[3]};
        if (!(*batch = tc_empty(4, shape))) return false;
    }
    int64_t per = tc_numel(cl);
    if (tc_numel(*batch) != per * N) return false;
    memcpy((*batch)->data + n * per, cl->data, sizeof(tc_scalar) * (size_t)per);
    return true;
}

/* Images [first, N) split over the pool, each image on one thread (its
 * Convs serial inside it): no synchronisation per Conv, and each core's
 * maps stay in its own caches. Every thread has its own arena, tape and
 * error; what one image allocates is released after it. */
typedef struct {
    const onnx_ctx *c;
    const onnx_block *b;
    tc_tensor *x, *batch;
    int64_t N, first;
    int failed;                /* a thread failed: its message in err */
    char err[1024];
    pthread_mutex_t lock;
    pthread_t owner;           /* the thread running the graph */
} par_job;

static void par_images(void *ctx, int64_t begin, int64_t end)
{
    par_job *j = ctx;
    onnx_ctx c = *j->c;
    tc_onnx_dtype in_dt[3], out_dt[1];
    c.in_dtype = in_dt, c.out_dtype = out_dt;
    bool was = tc_set_grad_enabled(false); /* a worker's own mode */
    /* a worker's arena is its own: rewound after each image; the calling
     * thread's holds the run's values and the node's open scope: a scope */
    bool caller = pthread_equal(pthread_self(), j->owner);
    for (int64_t n = j->first + begin; n < j->first + end; n++) {
        tc_step_mark mark = tc_step_get_mark();
        tc_arena_scope scope = {0};
        if (caller) scope = tc_arena_scope_begin();
        bool declined;
        tc_tensor *y = one_image(&c, j->b, j->x, n, &declined, NULL);
        bool ok = y && store_image(&j->batch, j->N, n, y);
        if (!ok) {
            pthread_mutex_lock(&j->lock);
            if (!j->failed++)
                snprintf(j->err, sizeof j->err, "%s", declined ? "image ran otherwise than image 0" : tc_last_error());
            pthread_mutex_unlock(&j->lock);
        }
        if (caller) tc_arena_scope_end(scope, ok ? 0 : -1, NULL);
        else tc_step_release(mark);
        if (!ok) break;
    }
    tc_set_grad_enabled(was);
}

/* whether every chain Conv's packed kernel exists (made at a first run):
 * threads must not race to make them */
static bool packs_made(const tc_onnx_model *m, const onnx_block *b)
{
    for (int i = 0; i < b->n; i++) {
        int wv = m->nodes[b->node[i]].in[1];
        if (!m->conv_packs || wv < 0 || !m->conv_packs[wv].pack) return false;
    }
    return true;
}

static int run_chain(onnx_ctx *c, int k, onnx_live *live, bool *done);

int tc_onnx_block_run(onnx_ctx *c, int k, onnx_live *live, bool *done)
{
    onnx_ctx saved = *c; /* a declined chain leaves the context as the run loop set it */
    int r = run_chain(c, k, live, done);
    if (r == 0) *c = saved;
    return r;
}

/* A Conv Winograd may take (3x3, one group, stride 1, dilation 1): its path
 * depends on the tile count of the whole batch, so one image at a time could
 * run it the other way. */
static bool winograd_shaped(const onnx_node *nd, const tc_tensor *w, int64_t cin)
{
    if (w->shape[1] != cin || w->shape[2] != 3 || w->shape[3] != 3) return false;
    int64_t v[3];
    int n = tc_onnx_attr_ints(nd, "strides", v, 3);
    for (int i = 0; i < n; i++)
        if (v[i] != 1) return false;
    n = tc_onnx_attr_ints(nd, "dilations", v, 3);
    for (int i = 0; i < n; i++)
        if (v[i] != 1) return false;
    return true;
}

static int run_chain(onnx_ctx *c, int k, onnx_live *live, bool *done)
{
    tc_onnx_model *m = c->m;
    onnx_block *b = m->nodes[k].block;
    int xv = m->nodes[k].in[0];
    tc_tensor *x = xv >= 0 ? c->val[xv] : NULL;
    size_t limit = threshold();
    if (!b || !limit || !x || c->dt[xv] != TC_ONNX_FLOAT || x->ndim != 4 || x->shape[0] < 2) return 0;
    /* Where a batch's bits could differ from its images': the generic path's
     * OpenBLAS treats elements by where they fall in its panels; reduced
     * precisions are left as they are; Winograd (forced, or the inference
     * default TC_CONV_AUTO) is chosen by the number of tiles over the batch
     * (a 3x3 one-group Conv) */
    if (tc_isa() == TC_ISA_GENERIC || tc_onnx_precision(m) != TC_PRECISION_FP32) return 0;
    /* the largest intermediate map, bounded by the input's area (strides only shrink it) */
    int64_t widest = 0, N = x->shape[0], cin = x->shape[1];
    for (int i = 0; i < b->n; i++) {
        const onnx_node *nd = &m->nodes[b->node[i]];
        tc_tensor *w = c->val[nd->in[1]];
        if (!w || w->ndim != 4) return 0;
        if (tc_conv_get_algorithm() != TC_CONV_DIRECT && winograd_shaped(nd, w, cin)) return 0;
        cin = w->shape[0];
        if (i < b->n - 1 && w->shape[0] > widest) widest = w->shape[0];
        tc_tensor *args[4] = {x, w, nd->n_in > 2 && nd->in[2] >= 0 ? c->val[nd->in[2]] : NULL,
                              nd->fusion && nd->fusion->residual >= 0 ? c->val[nd->fusion->residual] : NULL};
        if (tc_onnx_wants_grad(4, args)) return 0; /* the tape would hold the per-image scratch */
        if (nd->fusion && nd->fusion->residual >= 0 &&
            (!args[3] || c->dt[nd->fusion->residual] != TC_ONNX_FLOAT || args[3]->ndim != 4 || args[3]->shape[0] != N))
            return 0;
    }
    if ((double)N * (double)x->shape[2] * (double)x->shape[3] * (double)widest * sizeof(tc_scalar) < (double)limit)
        return 0;

    chain_prof prof = {{0}}, *pr = m->profile ? &prof : NULL;
    tc_tensor *batch = NULL, *result = NULL;
    /* on threads: images split over the pool once this input shape ran here
     * before (the result's shape is known) and the packed kernels exist;
     * else image 0 first on the calling thread. Profiling stays serial (the
     * process CPU clock would mix the threads' nodes). */
    bool par = tc_num_threads() > 1 && !pr;
    bool known = par && b->shaped && packs_made(m, b);
    for (int d = 1; known && d < 4; d++) known = b->in_shape[d] == x->shape[d];
    tc_onnx_live_node_begin(live);
    if (known) {
        int64_t shape[4] = {N, b->out_shape[1], b->out_shape[2], b->out_shape[3]};
        if (!(batch = tc_empty(4, shape))) {
            tc_onnx_live_node_end(live, false, 0, NULL);
            return -1;
        }
    }
    /* images [p0, p0 + np) over the pool, as many as split evenly over its
     * threads (8 on 2: 4 each); the others on the calling thread, their
     * Convs split over the pool as usual */
    int64_t p0 = known ? 0 : 1, T = tc_num_threads(), np = par ? (N - p0) / T * T : 0;
    for (int64_t n = 0; n < N; n++) {
        if (n == p0 && np > 0) {
            par_job j = {.c = c, .b = b, .x = x, .batch = batch, .N = N, .first = p0, .owner = pthread_self()};
            pthread_mutex_init(&j.lock, NULL);
            tc_parallel_for(np, 1, par_images, &j);
            pthread_mutex_destroy(&j.lock);
            if (j.failed) {
                tc_onnx_live_node_end(live, false, 0, NULL);
                tc_error(TC_ERR_STATE, "%s: %s", m->nodes[k].label, j.err);
                return -1;
            }
            n += np - 1;
            continue;
        }
        /* one image's scratch and maps go back to the arena after it: the
         * next image reuses the same (cached) memory */
        tc_arena_scope scope = tc_arena_scope_begin();
        bool declined, first = !batch;
        tc_tensor *y = one_image(c, b, x, n, &declined, pr);
        if (!y && declined && n == 0) { /* the nodes run as themselves */
            tc_arena_scope_end(scope, 0, NULL);
            tc_onnx_live_node_end(live, true, 0, NULL);
            return 0;
        }
        if (!y || !store_image(&batch, N, n, y)) {
            tc_arena_scope_end(scope, -1, NULL);
            tc_onnx_live_node_end(live, false, 0, NULL);
            if (declined) tc_error(TC_ERR_STATE, "%s: image %lld ran otherwise than image 0", m->nodes[k].label, (long long)n);
            return -1;
        }
        /* made at the first image, outside its scratch: kept */
        tc_arena_span keep[2] = {{batch, batch + 1}, {batch->data, batch->data + tc_numel(batch)}};
        tc_arena_scope_end(scope, first ? 2 : 0, keep);
    }
    b->shaped = true;
    for (int d = 0; d < 4; d++) b->in_shape[d] = x->shape[d], b->out_shape[d] = batch->shape[d];
    if (!(result = tc_onnx_from_cl(batch))) {
        tc_onnx_live_node_end(live, false, 0, NULL);
        return -1;
    }
    tc_onnx_live_node_end(live, true, 1, &result);
    int tv = tail_value(&m->nodes[b->node[b->n - 1]]);
    c->val[tv] = result;
    c->dt[tv] = TC_ONNX_FLOAT;
    tc_onnx_live_produced(live, tv, result);
    for (int i = 0; i < b->n; i++) {
        done[b->node[i]] = true;
        if (pr) {
            tc_onnx_node_profile *p = &m->profile[b->node[i]];
            p->seconds += prof.s[i], p->cpu_seconds += prof.cpu[i], p->flops += prof.flops[i];
            p->runs++;
        }
    }
    b->runs++;
    return 1;
}

int tc_onnx_block_count(const tc_onnx_model *m)
{
    int count = 0;
    for (int k = 0; m && k < m->n_nodes; k++) count += m->nodes[k].block != NULL;
    return count;
}

int64_t tc_onnx_block_runs(const tc_onnx_model *m)
{
    int64_t runs = 0;
    for (int k = 0; m && k < m->n_nodes; k++)
        if (m->nodes[k].block) runs += m->nodes[k].block->runs;
    return runs;
}
