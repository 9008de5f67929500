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
 * Row bands: one image's expanded map (112 x 112 x 96 floats = 4.8 MB,
 * 56 x 56 x 144 = 1.8 MB) still goes through L3 between the three Convs.
 * Where an image's intermediate rows outgrow TC_ONNX_BAND_KIB, the chain
 * runs in bands of output rows (each Conv on the rows the next one's band
 * needs, with the map's padding only at its top and bottom), each band's
 * rows staying in L2; also at batch 1. On threads the bands (of all
 * images) are split over the pool, each band's Convs serial on one thread:
 * no parallel region per Conv. The 1x1 Convs are per-pixel GEMMs whose
 * reduction runs in fixed K blocks from 0 (gemm_pack.c) whatever the rows,
 * and the depthwise sums its taps in one order: same bits at any band.
 *
 * TENSORCOOK_ONNX_BLOCK: 0 never; N > 0 image by image when the batch's
 * largest intermediate map is at least N KiB [4096] (batches of one: only
 * in bands). TENSORCOOK_ONNX_BAND: the band target in KiB, 0: no bands. */
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

/* The chain's row geometry (height axis only; the width runs whole): per
 * Conv its kernel height, stride, explicit padding above, input height,
 * and the last Conv's output shape (channels-last, one image). bands rows
 * of the last output per band, the last band shorter. */
typedef struct {
    int64_t kh[TC_ONNX_BLOCK_MAX], s[TC_ONNX_BLOCK_MAX], pb[TC_ONNX_BLOCK_MAX], h[TC_ONNX_BLOCK_MAX + 1];
    int64_t rowbytes[TC_ONNX_BLOCK_MAX]; /* one row of each Conv's output, bytes */
    int64_t out[4];                      /* last output, [1, OH, OW, F] */
    int64_t band, nbands;
} chain_geom;

/* The rows each Conv of a band reads and its padding, for output rows
 * [o0, o1) of the last Conv: lo[i], hi[i] the input rows of Conv i (lo[n],
 * hi[n] = o0, o1), pad[i] the padding above and below in its band. A Conv
 * reads rows o*s - pb .. o*s - pb + kh - 1 for output row o: the band reads
 * those of its first and last output row, clipped to the map, and pads
 * where the clip cut (only at the map's top and bottom, as the whole map
 * is padded). Interior bands recompute their 1 (stride 2) or 2 (stride 1)
 * rows of halo from the expand's input rather than keep them: a kept halo
 * costs a copy of the band's expanded rows, which at MobileNet-v2's K = 16
 * to 24 costs about as much as the 1x1 that made them. */
static void band_rows(const chain_geom *g, int n, int64_t o0, int64_t o1, int64_t *lo, int64_t *hi, int64_t (*pad)[2])
{
    lo[n] = o0, hi[n] = o1;
    for (int i = n - 1; i >= 0; i--) {
        int64_t a = lo[i + 1] * g->s[i] - g->pb[i], z = (hi[i + 1] - 1) * g->s[i] - g->pb[i] + g->kh[i];
        pad[i][0] = a < 0 ? -a : 0;
        pad[i][1] = z > g->h[i] ? z - g->h[i] : 0;
        lo[i] = a < 0 ? 0 : a;
        hi[i] = z > g->h[i] ? g->h[i] : z;
    }
}

/* the band target in bytes of intermediate rows (TENSORCOOK_ONNX_BAND KiB;
 * 0: whole images). By default batch 1 only: at batch 8 (images already one
 * by one) the bands measured 0-15% more CPU on 1 thread and the same on 2
 * (docs/perf.md, mnv2band); set, at any batch. */
static int64_t band_target(int64_t N)
{
    const char *e = getenv("TENSORCOOK_ONNX_BAND");
    if (!e || !*e) return N == 1 ? (int64_t)TC_ONNX_BAND_KIB << 10 : 0;
    long kib = strtol(e, NULL, 10);
    return kib > 0 ? (int64_t)kib << 10 : 0;
}

/* The band height from the shapes alone (never the thread count: the
 * bits must not depend on it, and they do not depend on the band either,
 * but the work split does): the tallest band whose intermediate rows (the
 * expanded map and the depthwise output, an interior band's with its
 * halo) fit the target, then evened out over the bands it makes. */
static void choose_bands(chain_geom *g, int n, int64_t target)
{
    int64_t OH = g->out[1], h = OH;
    g->band = OH, g->nbands = 1;
    if (!target || n < 2 || OH < 2) return;
    for (; h > 1; h--) {
        int64_t lo[TC_ONNX_BLOCK_MAX + 1], hi[TC_ONNX_BLOCK_MAX + 1], pad[TC_ONNX_BLOCK_MAX][2], bytes = 0;
        int64_t o0 = OH / 2 < OH - h ? OH / 2 : OH - h; /* an interior band where there is one */
        band_rows(g, n, o0, o0 + h, lo, hi, pad);
        for (int i = 1; i < n; i++) bytes += (hi[i] - lo[i]) * g->rowbytes[i - 1];
        if (bytes <= target) break;
    }
    g->nbands = (OH + h - 1) / h;
    /* an even count where the heights allow: two threads get the same work
     * (a rule of the shape, which one thread pays for with one more halo) */
    if (g->nbands > 1) g->nbands += g->nbands & 1;
    if (g->nbands > OH) g->nbands = OH;
    g->band = (OH + g->nbands - 1) / g->nbands;
    g->nbands = (OH + g->band - 1) / g->band;
}

/* The chain's geometry from the Convs' attributes and x's shape (NCHW);
 * false where a band cannot be set apart (auto_pad, a dilated height, no
 * 2-D kernel), which runs whole images. */
static bool chain_geometry(onnx_ctx *c, const onnx_block *b, const tc_tensor *x, chain_geom *g)
{
    const tc_onnx_model *m = c->m;
    int64_t H = x->shape[2], W = x->shape[3];
    for (int i = 0; i < b->n; i++) {
        const onnx_node *nd = &m->nodes[b->node[i]];
        const tc_tensor *w = c->val[nd->in[1]];
        if (strcmp(tc_onnx_attr_string(nd, "auto_pad", "NOTSET"), "NOTSET")) return false;
        int64_t st[2] = {1, 1}, dl[2] = {1, 1}, pads[4] = {0, 0, 0, 0};
        int ns = tc_onnx_attr_ints(nd, "strides", st, 2), nl = tc_onnx_attr_ints(nd, "dilations", dl, 2),
            np = tc_onnx_attr_ints(nd, "pads", pads, 4);
        if ((ns >= 0 && ns != 2) || (nl >= 0 && nl != 2) || (np >= 0 && np != 4) || dl[0] != 1 || st[0] < 1 || st[1] < 1)
            return false;
        g->kh[i] = w->shape[2], g->s[i] = st[0], g->pb[i] = pads[0], g->h[i] = H;
        H = tc_conv_out_size(H, w->shape[2], (int)st[0], 1, TC_EXPLICIT, pads[0], pads[2]);
        W = tc_conv_out_size(W, w->shape[3], (int)st[1], (int)dl[1], TC_EXPLICIT, pads[1], pads[3]);
        if (H < 1 || W < 1) return false;
        g->rowbytes[i] = W * w->shape[0] * (int64_t)sizeof(tc_scalar);
        g->out[0] = 1, g->out[1] = H, g->out[2] = W, g->out[3] = w->shape[0];
    }
    g->h[b->n] = H;
    return true;
}

/* Band `band` of image n of x through the chain on the calling thread (c:
 * a context of its own, pr: NULL or the profile sums; g NULL: the whole
 * image). The last output (a step tensor), or NULL: *declined (an epilogue
 * did not apply, its nodes must run as themselves; or a one-pixel map,
 * whose 1x1 product would be a GEMV per image and a GEMM over the batch),
 * else failed (error set). */
static tc_tensor *one_unit(onnx_ctx *c, const onnx_block *b, const chain_geom *g, tc_tensor *x, int64_t n,
                           int64_t band, bool *declined, chain_prof *pr)
{
    tc_onnx_model *m = c->m;
    *declined = false;
    int64_t lo[TC_ONNX_BLOCK_MAX + 1], hi[TC_ONNX_BLOCK_MAX + 1], pad[TC_ONNX_BLOCK_MAX][2];
    bool banded = g && g->nbands > 1;
    if (banded) {
        int64_t o0 = band * g->band, o1 = o0 + g->band < g->out[1] ? o0 + g->band : g->out[1];
        band_rows(g, b->n, o0, o1, lo, hi, pad);
    }
    tc_tensor *cur = tc_narrow(x, 0, n, 1);
    if (cur && banded) cur = tc_narrow(cur, 2, lo[0], hi[0] - lo[0]);
    for (int i = 0; cur && i < b->n; i++) {
        const onnx_node *nd = &m->nodes[b->node[i]];
        tc_tensor *in[3] = {cur, c->val[nd->in[1]], nd->n_in > 2 && nd->in[2] >= 0 ? c->val[nd->in[2]] : NULL};
        tc_tensor *out[1] = {NULL};
        for (int t = 0; t < nd->n_in; t++) c->in_dtype[t] = TC_ONNX_FLOAT;
        c->out_dtype[0] = TC_ONNX_FLOAT;
        c->node = nd, c->label = nd->label;
        c->fusion = nd->fusion, c->residual = NULL, c->fused = false;
        c->band = banded;
        if (banded) c->band_pad[0] = pad[i][0], c->band_pad[1] = pad[i][1];
        if (nd->fusion && nd->fusion->residual >= 0) {
            /* the residual's rows are this Conv's output rows */
            c->residual = tc_narrow(c->val[nd->fusion->residual], 0, n, 1);
            if (c->residual && banded) c->residual = tc_narrow(c->residual, 2, lo[i + 1], hi[i + 1] - lo[i + 1]);
            if (!c->residual) return NULL;
        }
        double wall0 = 0, cpu0 = 0;
        if (pr) tc_onnx_profile_clock(&wall0, &cpu0);
        tc_status st = nd->op->fn(c, nd, nd->n_in, in, 1, out);
        c->band = false;
        if (st != TC_OK) return NULL;
        if (pr) {
            double wall, cpu;
            tc_onnx_profile_clock(&wall, &cpu);
            pr->s[i] += wall - wall0, pr->cpu[i] += cpu - cpu0;
            pr->flops[i] += out[0] ? conv_flops(in[1], out[0]) : 0;
        }
        if ((nd->fusion && !c->fused) || !out[0] || out[0]->ndim != 4 || out[0]->shape[2] * out[0]->shape[3] < 2 ||
            (banded && out[0]->shape[2] != hi[i + 1] - lo[i + 1])) {
            *declined = true;
            return NULL;
        }
        cur = out[0];
    }
    return cur;
}

/* y (the chain's last output on one band of image n) into the batch's
 * channels-last result at its rows */
static bool store_unit(tc_tensor *batch, const chain_geom *g, int64_t n, int64_t band, tc_tensor *y)
{
    tc_tensor *cl = tc_onnx_to_cl(y);
    if (cl && !tc_is_contiguous(cl)) cl = tc_contiguous(cl);
    if (!cl || cl->ndim != 4 || cl->shape[0] != 1 || cl->shape[2] != g->out[2] || cl->shape[3] != g->out[3])
        return false;
    int64_t row = g->out[2] * g->out[3], o0 = band * g->band;
    if (o0 + cl->shape[1] > g->out[1] || (g->nbands == 1 && cl->shape[1] != g->out[1])) return false;
    memcpy(batch->data + (n * g->out[1] + o0) * row, cl->data, sizeof(tc_scalar) * (size_t)tc_numel(cl));
    return true;
}

/* Units [first, U) (unit u: image u / nbands, band u % nbands) split over
 * the pool, each unit on one thread (its Convs serial inside it): no
 * synchronisation per Conv, and each core's bands stay in its own caches.
 * Every thread has its own arena, tape and error; what one unit allocates
 * is released after it. */
typedef struct {
    const onnx_ctx *c;
    const onnx_block *b;
    const chain_geom *g;
    tc_tensor *x, *batch;
    int64_t first;
    int failed;                /* a thread failed: its message in err */
    char err[1024];
    pthread_mutex_t lock;
    pthread_t owner;           /* the thread running the graph */
} par_job;

static void par_units(void *ctx, int64_t begin, int64_t end)
{
    par_job *j = ctx;
    onnx_ctx c = *j->c;
    tc_onnx_dtype in_dt[3], out_dt[1];
    c.in_dtype = in_dt, c.out_dtype = out_dt;
    bool was = tc_set_grad_enabled(false); /* a worker's own mode */
    /* a worker's arena is its own: rewound after each unit; the calling
     * thread's holds the run's values and the node's open scope: a scope */
    bool caller = pthread_equal(pthread_self(), j->owner);
    for (int64_t u = j->first + begin; u < j->first + end; u++) {
        tc_step_mark mark = tc_step_get_mark();
        tc_arena_scope scope = {0};
        if (caller) scope = tc_arena_scope_begin();
        bool declined;
        int64_t n = u / j->g->nbands, band = u % j->g->nbands;
        tc_tensor *y = one_unit(&c, j->b, j->g, j->x, n, band, &declined, NULL);
        bool ok = y && store_unit(j->batch, j->g, n, band, y);
        if (!ok) {
            pthread_mutex_lock(&j->lock);
            if (!j->failed++)
                snprintf(j->err, sizeof j->err, "%s", declined ? "a band ran otherwise than the first" : tc_last_error());
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
    if (!b || !limit || !x || c->dt[xv] != TC_ONNX_FLOAT || x->ndim != 4) return 0;
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
    chain_geom g = {{0}};
    if (!chain_geometry(c, b, x, &g)) return 0;
    choose_bands(&g, b->n, band_target(N));
    /* image by image when the batch's maps outgrow the caches; in bands
     * (also at batch 1) when one image's do */
    double maps = (double)N * (double)x->shape[2] * (double)x->shape[3] * (double)widest * sizeof(tc_scalar);
    bool images = N >= 2 && maps >= (double)limit;
    if (!images && g.nbands < 2) return 0;

    chain_prof prof = {{0}}, *pr = m->profile ? &prof : NULL;
    tc_tensor *batch = NULL, *result = NULL;
    int64_t shape[4] = {N, g.out[1], g.out[2], g.out[3]};
    tc_onnx_live_node_begin(live);
    if (!(batch = tc_empty(4, shape))) {
        tc_onnx_live_node_end(live, false, 0, NULL);
        return -1;
    }
    /* on threads: units split over the pool once the packed kernels exist
     * (else unit 0 first on the calling thread, which makes them).
     * Profiling stays serial (the process CPU clock would mix the threads'
     * nodes). */
    bool par = tc_num_threads() > 1 && !pr;
    int64_t U = N * g.nbands, p0 = par && b->shaped && packs_made(m, b) ? 0 : 1, T = tc_num_threads();
    /* units [p0, p0 + np) over the pool, as many as split evenly over its
     * threads (8 images on 2: 4 each); banded, all of them (a thread's
     * extra band is a fraction of an image); the others on the calling
     * thread, their Convs split over the pool as usual */
    int64_t np = !par ? 0 : g.nbands > 1 ? U - p0 : (U - p0) / T * T;
    for (int64_t u = 0; u < U; u++) {
        if (u == p0 && np > 0) {
            par_job j = {.c = c, .b = b, .g = &g, .x = x, .batch = batch, .first = p0, .owner = pthread_self()};
            pthread_mutex_init(&j.lock, NULL);
            tc_parallel_for(np, 1, par_units, &j);
            pthread_mutex_destroy(&j.lock);
            if (j.failed) {
                tc_onnx_live_node_end(live, false, 0, NULL);
                tc_error(TC_ERR_STATE, "%s: %s", m->nodes[k].label, j.err);
                return -1;
            }
            u += np - 1;
            continue;
        }
        /* one unit's scratch and maps go back to the arena after it: the
         * next reuses the same (cached) memory */
        tc_arena_scope scope = tc_arena_scope_begin();
        bool declined;
        int64_t n = u / g.nbands, band = u % g.nbands;
        tc_tensor *y = one_unit(c, b, &g, x, n, band, &declined, pr);
        if (!y && declined && u == 0) { /* the nodes run as themselves */
            tc_arena_scope_end(scope, 0, NULL);
            tc_onnx_live_node_end(live, true, 0, NULL);
            return 0;
        }
        if (!y || !store_unit(batch, &g, n, band, y)) {
            tc_arena_scope_end(scope, -1, NULL);
            tc_onnx_live_node_end(live, false, 0, NULL);
            if (declined)
                tc_error(TC_ERR_STATE, "%s: band %lld ran otherwise than the first", m->nodes[k].label, (long long)u);
            else if (y) tc_error(TC_ERR_STATE, "%s: a band's output is not of the planned shape", m->nodes[k].label);
            return -1;
        }
        tc_arena_scope_end(scope, 0, NULL);
    }
    b->shaped = true;
    b->bands = g.nbands;
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
    if (g.nbands > 1) b->banded_runs++;
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

int64_t tc_onnx_block_banded_runs(const tc_onnx_model *m)
{
    int64_t runs = 0;
    for (int k = 0; m && k < m->n_nodes; k++)
        if (m->nodes[k].block) runs += m->nodes[k].block->banded_runs;
    return runs;
}
