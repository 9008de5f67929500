/* Inter-op parallelism: at batch 1 on 2 threads the small Convs split badly
 * over the threads (ResNet-50 b1: 50 ms CPU on 2 threads for 40 on one).
 * Independent branches of a fork/join region (Inception's branches before
 * each Concat; ResNet's downsample next to conv1 of each layerN.0 block)
 * run instead at the same time, one thread each, every node with its
 * 1-thread kernels (a node inside a parallel region runs its own parallel
 * loops serially).
 *
 * Plan (after one run node by node, which notes each node's cost from the
 * shapes it ran with: 2 x multiply-adds of the products, 8 per element
 * moved otherwise): for each value read by several nodes (the fork), its
 * readers that read nothing else new start branches; a later node that
 * reads one branch only (and values ready before the region) joins it; the
 * first node reading two branches, or a branch and the fork (the join),
 * ends the scan. The branches go to two lists (largest first to the lighter
 * list); while it shortens the estimate, the last node of the heavier list
 * is left out to run after the region split over both threads as usual.
 * A region is kept when every Conv in it is small (at most MAX_POSITIONS
 * output positions) and its estimate beats running it all split by
 * MIN_GAIN, where a split node takes its cost / WIDE_SPEEDUP.
 *
 * Same bits: a node gives the same bits on any thread count (the project's
 * promise, tests/test_onnx_branches.c checks it against 1 thread).
 *
 * Memory: the caller's list allocates from the caller's arena and is
 * tracked by onnx_live as before; the worker's list allocates from the
 * worker's own (thread-local) arena and is not tracked, so no buffer of one
 * list can be recycled into the other while both run, and values read in
 * the region are released only after it (the run loop passes each region
 * node to tc_onnx_live_after at its own place). The worker's arena goes
 * back to its base at the start of a region once every value the worker
 * made before is dead (planned: their last readers come before that
 * region), and at the first region of every run (no graph output is
 * computed on the worker).
 *
 * TENSORCOOK_ONNX_INTEROP=0: off. Only on exactly 2 threads, in the
 * top-level graph of a model without If/Loop/Scan, when buffer reuse is on
 * (no gradient to record), and never for a Conv chain that ran as one
 * (onnx_block.c; one that declined at the recording run runs node by node
 * in a region, where chains are never tried). */
#include "onnx_branches.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POSITIONS 3136      /* a Conv's N x OH x OW at most: 56 x 56 at batch 1 */
#define WIDE_SPEEDUP 1.5        /* a small node split over 2 threads (1.34x measured, ResNet-50 b1) */
#define MIN_GAIN 0.05
#define MIN_REGION_COST 2e6     /* below this a region costs more to dispatch than it gains */
#define MAX_UNITS 64

typedef struct {
    int start;     /* the first node: the run loop runs the region there */
    int n[2];
    int *list[2];  /* node indices in order; absorbed nodes follow their Conv */
    bool rewind;   /* the worker's arena may go back to its base first */
} branch_region;

struct onnx_branch_plan {
    int n_key;
    int64_t *key;  /* the inputs' shapes planned for (ndim, dims...); n_key -1: none */
    int n_regions;
    branch_region *region;
    int *region_at;
    int64_t runs;
    double *cost;  /* noted while recording, per node */
    int64_t *pos;
    bool *ran;
};

struct onnx_interop {
    tc_onnx_model *m;
    struct onnx_branch_plan *p;
    bool recording;
    int n_key;
};

static void free_regions(struct onnx_branch_plan *p)
{
    for (int g = 0; g < p->n_regions; g++) free(p->region[g].list[0]);
    free(p->region);
    p->region = NULL;
    p->n_regions = 0;
}

void tc_onnx_interop_forget(tc_onnx_model *m)
{
    struct onnx_branch_plan *p = m->interop;
    if (!p) return;
    free_regions(p);
    free(p->key);
    free(p->region_at);
    free(p->cost);
    free(p->pos);
    free(p->ran);
    free(p);
    m->interop = NULL;
}

static bool enabled(void)
{
    const char *e = getenv("TENSORCOOK_ONNX_INTEROP");
    return !(e && e[0] == '0');
}

static int key_of(int n_inputs, tc_tensor *const *inputs, int64_t *key)
{
    int n = 0;
    for (int i = 0; i < n_inputs; i++) {
        if (key) key[n] = inputs[i]->ndim;
        n++;
        for (int d = 0; d < inputs[i]->ndim; d++, n++)
            if (key) key[n] = inputs[i]->shape[d];
    }
    return n;
}

onnx_interop *tc_onnx_interop_begin(tc_onnx_model *m, onnx_live *live, int n_inputs, tc_tensor *const *inputs)
{
    if (!live || m->parent || tc_num_threads() != 2 || !enabled()) return NULL;
    struct onnx_branch_plan *p = m->interop;
    int n_key = key_of(n_inputs, inputs, NULL);
    int64_t key[64];
    bool same = false;
    if (p && p->n_key == n_key && n_key <= 64) {
        key_of(n_inputs, inputs, key);
        same = !memcmp(key, p->key, sizeof *key * (size_t)n_key);
    }
    if (same && p->n_regions == 0) return NULL;
    if (!p) {
        p = calloc(1, sizeof *p);
        int nn = m->n_nodes + 1;
        if (p) {
            p->n_key = -1;
            p->region_at = malloc(sizeof *p->region_at * (size_t)nn);
            p->cost = malloc(sizeof *p->cost * (size_t)nn);
            p->pos = malloc(sizeof *p->pos * (size_t)nn);
            p->ran = malloc(sizeof *p->ran * (size_t)nn);
        }
        if (!p || !p->region_at || !p->cost || !p->pos || !p->ran) {
            m->interop = p;
            tc_onnx_interop_forget(m);
            return NULL;
        }
        m->interop = p;
    }
    onnx_interop *r = tc_arena_alloc(sizeof *r);
    if (!r) return NULL;
    *r = (onnx_interop){.m = m, .p = p, .recording = !same, .n_key = n_key};
    if (r->recording) {
        free_regions(p);
        p->n_key = -1;
        for (int k = 0; k < m->n_nodes; k++) p->region_at[k] = -1, p->cost[k] = 0, p->pos[k] = 0, p->ran[k] = false;
        free(p->key);
        if (!(p->key = malloc(sizeof *p->key * (size_t)(n_key + 1)))) return NULL;
        key_of(n_inputs, inputs, p->key);
    }
    return r;
}

void tc_onnx_interop_note(onnx_interop *r, int k, int n_in, tc_tensor *const *in, tc_tensor *const *out)
{
    if (!r || !r->recording) return;
    const onnx_node *nd = &r->m->nodes[k];
    if (nd->n_out < 1 || (nd->block && !out[0])) return; /* a chain ran from here: never in a region */
    double f = tc_onnx_node_flops(nd, n_in, in, out);
    if (f == 0) {
        double moved = out[0] ? (double)tc_numel(out[0]) : 0;
        if (n_in > 0 && in[0]) moved += (double)tc_numel(in[0]);
        f = 8 * moved;
    }
    r->p->cost[k] = f;
    if (nd->proto->op_type && !strcmp(nd->proto->op_type, "Conv") && out[0] && out[0]->ndim >= 3 && out[0]->shape[1] > 0)
        r->p->pos[k] = tc_numel(out[0]) / out[0]->shape[1];
    r->p->ran[k] = true;
}

int tc_onnx_interop_region_at(const onnx_interop *r, int k)
{
    return r && !r->recording ? r->p->region_at[k] : -1;
}

/* ---- planning ---- */

typedef struct {
    const tc_onnx_model *m;
    int *prod;      /* per value: the unit computing it, -1 outside the graph's nodes, -2 unknown */
    bool *eligible; /* per node */
    int *comp;      /* per node, during one scan */
} planner;

/* the activation inputs of unit u (initializers left out): in[], and a fused residual */
static int unit_inputs(const tc_onnx_model *m, int u, int *vs, int max)
{
    const onnx_node *nd = &m->nodes[u];
    int n = 0;
    for (int i = 0; i < nd->n_in && n < max; i++)
        if (nd->in[i] >= 0 && !m->values[nd->in[i]].init) vs[n++] = nd->in[i];
    if (nd->fusion && nd->fusion->residual >= 0 && n < max) vs[n++] = nd->fusion->residual;
    return n;
}

static double est(const double *bin, double dropped) { return (bin[0] > bin[1] ? bin[0] : bin[1]) + dropped / WIDE_SPEEDUP; }

/* Scans the region forking at value x whose first reader is node k0; adds
 * it to p when it pays. */
static tc_status try_region(planner *pl, struct onnx_branch_plan *p, int x, int k0)
{
    const tc_onnx_model *m = pl->m;
    int nn = m->n_nodes, ncomp = 0, units = 0;
    int *comp = pl->comp;
    for (int k = 0; k < nn; k++) comp[k] = -1;
    for (int u = k0; u < nn && units < MAX_UNITS; u++) {
        const onnx_node *nd = &m->nodes[u];
        if (nd->skip || nd->fused_into) continue;
        int vs[64], nv = unit_inputs(m, u, vs, 64), s0 = -1;
        bool reads_x = false, multi = false, blocked = nv >= 64;
        for (int i = 0; i < nv; i++) {
            int v = vs[i], pu = pl->prod[v];
            if (v == x) reads_x = true;
            else if (pu == -1 || (pu >= 0 && pu < k0)) continue; /* ready before the region */
            else if (pu >= 0 && comp[pu] >= 0) {
                if (s0 < 0) s0 = comp[pu];
                else if (comp[pu] != s0) multi = true;
            } else blocked = true; /* made after the region starts, outside it */
        }
        if (multi || (reads_x && s0 >= 0)) break; /* the join */
        if (blocked || !pl->eligible[u]) continue;
        if (reads_x) comp[u] = ncomp++;
        else if (s0 >= 0) comp[u] = s0;
        else continue;
        units++;
    }
    if (ncomp < 2) return TC_OK;
    double *cc = calloc((size_t)ncomp, sizeof *cc);
    int *bin_of = malloc(sizeof *bin_of * (size_t)ncomp), *list = malloc(sizeof *list * (size_t)(2 * nn + 2));
    if (!cc || !bin_of || !list) {
        free(cc), free(bin_of), free(list);
        return TC_ERR_MEMORY;
    }
    double total = 0;
    bool small = true;
    for (int u = k0; u < nn; u++)
        if (comp[u] >= 0) {
            cc[comp[u]] += p->cost[u];
            total += p->cost[u];
            if (p->pos[u] > MAX_POSITIONS) small = false;
        }
    /* largest branch first, each to the lighter list */
    double bin[2] = {0, 0};
    for (int done = 0; done < ncomp; done++) {
        int best = -1;
        for (int c = 0; c < ncomp; c++)
            if (cc[c] >= 0 && (best < 0 || cc[c] > cc[best])) best = c;
        int b = bin[0] <= bin[1] ? 0 : 1;
        bin[b] += cc[best];
        bin_of[best] = b;
        cc[best] = -1;
    }
    /* the heavier list's last nodes may run after the region, split */
    double dropped = 0;
    for (;;) {
        int h = bin[0] >= bin[1] ? 0 : 1, last = -1, count = 0;
        for (int u = k0; u < nn; u++)
            if (comp[u] >= 0 && bin_of[comp[u]] == h) last = u, count++;
        if (count < 2) break;
        double nb[2] = {bin[0], bin[1]};
        nb[h] -= p->cost[last];
        if (est(nb, dropped + p->cost[last]) >= est(bin, dropped)) break;
        bin[h] = nb[h];
        dropped += p->cost[last];
        comp[last] = -1;
    }
    bool keep = small && total >= MIN_REGION_COST && bin[0] > 0 && bin[1] > 0 &&
                est(bin, dropped) < (1 - MIN_GAIN) * total / WIDE_SPEEDUP;
    if (keep) {
        branch_region R = {.start = nn};
        int n = 0;
        for (int b = 0; b < 2; b++) { /* the heavier list on the caller */
            int want = (bin[0] >= bin[1]) ? b : 1 - b;
            R.list[b] = list + n;
            for (int u = k0; u < nn; u++) {
                if (comp[u] < 0 || bin_of[comp[u]] != want) continue;
                if (u < R.start) R.start = u;
                list[n++] = u;
                const onnx_fusion *f = m->nodes[u].fusion;
                for (int i = 0; f && i < f->n_absorbed; i++) list[n++] = f->absorbed[i];
            }
            R.n[b] = (int)(list + n - R.list[b]);
        }
        branch_region *grown = realloc(p->region, sizeof *grown * (size_t)(p->n_regions + 1));
        if (!grown) {
            free(cc), free(bin_of), free(list);
            return TC_ERR_MEMORY;
        }
        p->region = grown;
        p->region[p->n_regions++] = R;
        for (int u = k0; u < nn; u++)
            if (comp[u] >= 0) pl->eligible[u] = false;
        list = NULL; /* owned by the region */
    }
    free(cc), free(bin_of), free(list);
    return TC_OK;
}

static int by_start(const void *a, const void *b)
{
    return ((const branch_region *)a)->start - ((const branch_region *)b)->start;
}

static tc_status plan(tc_onnx_model *m, struct onnx_branch_plan *p)
{
    int nn = m->n_nodes, nv = m->n_values;
    planner pl = {.m = m};
    pl.prod = malloc(sizeof *pl.prod * (size_t)(nv + 1));
    pl.eligible = malloc(sizeof *pl.eligible * (size_t)(nn + 1));
    pl.comp = malloc(sizeof *pl.comp * (size_t)(nn + 1));
    int *readers = calloc((size_t)nv + 1, sizeof *readers), *first = malloc(sizeof *first * (size_t)(nv + 1));
    int *last = malloc(sizeof *last * (size_t)(nv + 1));
    tc_status s = TC_OK;
    if (!pl.prod || !pl.eligible || !pl.comp || !readers || !first || !last) {
        s = TC_ERR_MEMORY;
        goto out;
    }
    bool has_sub = false;
    for (int k = 0; k < nn; k++) has_sub |= m->nodes[k].sub[0] || m->nodes[k].sub[1];
    if (has_sub) goto out;
    for (int v = 0; v < nv; v++) {
        int q = m->values[v].producer;
        pl.prod[v] = q < 0 ? -1 : m->nodes[q].skip ? -2 : m->nodes[q].fused_into ? m->nodes[q].fused_into - 1 : q;
        first[v] = -1;
        last[v] = -1;
    }
    for (int k = 0; k < nn; k++) {
        const onnx_node *nd = &m->nodes[k];
        pl.eligible[k] = !nd->skip && !nd->fused_into && nd->op && !nd->prep_error && p->ran[k];
        if (nd->skip) continue;
        for (int i = 0; i < nd->n_in; i++)
            if (nd->in[i] >= 0) last[nd->in[i]] = k;
        if (nd->fusion && nd->fusion->residual >= 0 && last[nd->fusion->residual] < k) last[nd->fusion->residual] = k;
        if (nd->fused_into) continue;
        int vs[64], n = unit_inputs(m, k, vs, 64);
        for (int i = 0; i < n; i++) {
            bool seen = false; /* a node reading x twice counts once */
            for (int j = 0; j < i; j++) seen |= vs[j] == vs[i];
            if (seen) continue;
            if (first[vs[i]] < 0) first[vs[i]] = k;
            readers[vs[i]]++;
        }
    }
    for (int i = 0; i < m->n_outputs; i++) { /* no graph output is computed in a region */
        int q = pl.prod[m->outputs[i]];
        if (q >= 0) pl.eligible[q] = false;
        last[m->outputs[i]] = nn;
    }
    /* forks in the order of their first readers */
    for (int k0 = 0; k0 < nn && s == TC_OK; k0++)
        for (int v = 0; v < nv && s == TC_OK; v++)
            if (first[v] == k0 && readers[v] >= 2 && pl.eligible[k0]) s = try_region(&pl, p, v, k0);
    if (p->n_regions > 1) /* qsort's array must not be NULL, even for none */
        qsort(p->region, (size_t)p->n_regions, sizeof *p->region, by_start);
    /* the worker's arena: back to its base where all it made before is dead */
    int alive_until = -1;
    for (int g = 0; g < p->n_regions; g++) {
        branch_region *R = &p->region[g];
        R->rewind = g == 0 || alive_until < R->start;
        if (R->rewind) alive_until = -1;
        for (int i = 0; i < R->n[1]; i++) {
            const onnx_node *nd = &m->nodes[R->list[1][i]];
            for (int o = 0; o < nd->n_out; o++)
                if (nd->out[o] >= 0 && last[nd->out[o]] > alive_until) alive_until = last[nd->out[o]];
            if (nd->fusion && last[nd->fusion->out_value] > alive_until) alive_until = last[nd->fusion->out_value];
        }
        p->region_at[R->start] = g;
    }
out:
    free(pl.prod), free(pl.eligible), free(pl.comp), free(readers), free(first), free(last);
    return s;
}

void tc_onnx_interop_end(onnx_interop *r, bool ok)
{
    if (!r || !r->recording) return;
    struct onnx_branch_plan *p = r->p;
    if (!ok) return; /* plan at the next run */
    if (plan(r->m, p) != TC_OK) { /* no memory: node by node */
        free_regions(p);
        for (int k = 0; k < r->m->n_nodes; k++) p->region_at[k] = -1;
    }
    p->n_key = r->n_key;
}

/* ---- running ---- */

typedef struct {
    tc_onnx_model *m;
    const branch_region *R;
    onnx_live *live;
    bool *fused;
    bool grad;
    onnx_ctx ctx[2];
    tc_tensor **in[2], **out[2];
    tc_arena_span *keep[2];
    tc_status status[2];
    char msg[2][1024];
} region_job;

/* where the worker's arena starts for the regions (its own, thread-local) */
static _Thread_local bool have_base;
static _Thread_local size_t base;

static void run_list(region_job *j, int t)
{
    const bool worker = t != 0 && tc_thread_id() == t; /* else the caller runs both lists, one after the other */
    bool was = true;
    if (worker) {
        was = tc_set_grad_enabled(j->grad); /* as on the caller's thread */
        if (!have_base) base = tc_arena_position(), have_base = true;
        else if (j->R->rewind) tc_arena_rewind(base);
    }
    for (int i = 0; i < j->R->n[t]; i++) {
        int k = j->R->list[t][i];
        if (tc_onnx_node_skipped(j->m, k, j->fused)) continue;
        tc_status s = tc_onnx_run_node(&j->ctx[t], k, worker ? NULL : j->live, j->fused, j->in[t], j->out[t], worker,
                                       j->keep[t]);
        if (s != TC_OK) {
            j->status[t] = s;
            snprintf(j->msg[t], sizeof j->msg[t], "%s", tc_last_error());
            break;
        }
    }
    if (worker) tc_set_grad_enabled(was);
}

static void region_chunk(void *ctx, int64_t b, int64_t e)
{
    for (int64_t t = b; t < e; t++) run_list(ctx, (int)t);
}

tc_status tc_onnx_interop_run(onnx_interop *r, int g, const onnx_ctx *c, onnx_live *live, bool *fused, bool *done)
{
    tc_onnx_model *m = r->m;
    const branch_region *R = &r->p->region[g];
    region_job *j = tc_arena_alloc(sizeof *j);
    if (!j) return tc_last_status();
    memset(j, 0, sizeof *j);
    *j = (region_job){.m = m, .R = R, .live = live, .fused = fused, .grad = tc_grad_enabled()};
    size_t io = (size_t)m->max_io + 1;
    for (int t = 0; t < 2; t++) {
        j->ctx[t] = *c;
        j->ctx[t].in_dtype = tc_arena_alloc(sizeof *j->ctx[t].in_dtype * io);
        j->ctx[t].out_dtype = tc_arena_alloc(sizeof *j->ctx[t].out_dtype * io);
        j->in[t] = tc_arena_alloc(sizeof *j->in[t] * io);
        j->out[t] = tc_arena_alloc(sizeof *j->out[t] * io);
        if (!j->ctx[t].in_dtype || !j->ctx[t].out_dtype || !j->in[t] || !j->out[t]) return tc_last_status();
    }
    for (int t = 0; t < 2; t++)
        if (!(j->keep[t] = tc_arena_alloc(sizeof *j->keep[t] * 2 * io))) return tc_last_status();
    tc_parallel_for(2, 1, region_chunk, j);
    for (int t = 0; t < 2; t++)
        if (j->status[t] != TC_OK) return tc_error(j->status[t], "%s", j->msg[t]);
    /* what the worker computed, for the buffer tracking (not in this
     * thread's arena: counted only where it views a tracked buffer) */
    for (int i = 0; i < R->n[1]; i++) {
        int k = R->list[1][i];
        const onnx_node *nd = &m->nodes[k];
        if (nd->fused_into) continue;
        if (fused[k]) tc_onnx_live_produced(live, nd->fusion->out_value, c->val[nd->fusion->out_value]);
        else
            for (int o = 0; o < nd->n_out; o++)
                if (nd->out[o] >= 0) tc_onnx_live_produced(live, nd->out[o], c->val[nd->out[o]]);
    }
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < R->n[t]; i++) done[R->list[t][i]] = true;
    r->p->runs++;
    return TC_OK;
}

int64_t tc_onnx_interop_runs(const tc_onnx_model *m) { return m && m->interop ? m->interop->runs : 0; }

int tc_onnx_interop_count(const tc_onnx_model *m) { return m && m->interop ? m->interop->n_regions : 0; }
