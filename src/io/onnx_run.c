/* The ONNX interpreter: runs the nodes in topological order, each through
 * its translation into tensorcook operations (so the tape records them and
 * gradients flow through imported graphs). */
#include "core/threads_stats.h"
#include "onnx_block.h"
#include "onnx_branches.h"
#include "onnx_run.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

tc_status tc_onnx_fail(onnx_ctx *c, tc_status s, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tc_error(s, "%s: %s", c->label, msg);
}

tc_status tc_onnx_prep_fail(const onnx_node *n, tc_status s, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tc_error(s, "%s: %s", n->label, msg);
}

tc_status tc_onnx_need(onnx_ctx *c, int n_in, tc_tensor **in, int k)
{
    if (n_in < k) return tc_onnx_fail(c, TC_ERR_ARG, "needs %d inputs, has %d", k, n_in);
    for (int i = 0; i < k; i++)
        if (!in[i]) return tc_onnx_fail(c, TC_ERR_ARG, "input %d is missing", i);
    return TC_OK;
}

void *tc_onnx_attrs_new(onnx_node *n, size_t size)
{
    free(n->attrs);
    n->attrs = calloc(1, size);
    if (!n->attrs) tc_error(TC_ERR_MEMORY, "%s: out of memory", n->label);
    return n->attrs;
}

tc_status tc_onnx_check(onnx_ctx *c, tc_tensor *t)
{
    if (t) return TC_OK;
    char inner[1024];
    snprintf(inner, sizeof inner, "%s", tc_last_error());
    return tc_error(tc_last_status() ? tc_last_status() : TC_ERR_ARG, "%s: %s", c->label, inner);
}

int tc_onnx_ints(onnx_ctx *c, const tc_tensor *t, int64_t *out, int max, const char *what)
{
    if (!t) {
        tc_onnx_fail(c, TC_ERR_ARG, "%s is missing", what);
        return -1;
    }
    int64_t n = tc_numel(t);
    if (n > max) {
        tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "%s has %lld values (at most %d)", what, (long long)n, max);
        return -1;
    }
    const tc_scalar *v = tc_packed(t); /* any count (max may exceed a stack buffer) */
    if (!v && n) return -1;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)v[i];
        out[i] = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : (int64_t)d;
    }
    return (int)n;
}

int tc_onnx_axis(onnx_ctx *c, int64_t axis, int rank)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
        tc_onnx_fail(c, TC_ERR_ARG, "axis %lld is out of range for rank %d", (long long)axis, rank);
        return -1;
    }
    return (int)a;
}

tc_tensor *tc_onnx_to_cl(tc_tensor *x)
{
    if (!x || x->ndim < 3) return x;
    int perm[TC_MAX_DIMS], r = x->ndim;
    perm[0] = 0;
    for (int i = 1; i < r - 1; i++) perm[i] = i + 1;
    perm[r - 1] = 1;
    return tc_transpose(x, perm);
}

tc_tensor *tc_onnx_from_cl(tc_tensor *y)
{
    if (!y || y->ndim < 3) return y;
    int perm[TC_MAX_DIMS], r = y->ndim;
    perm[0] = 0;
    perm[1] = r - 1;
    for (int i = 2; i < r; i++) perm[i] = i - 1;
    return tc_transpose(y, perm);
}

/* The permutation p with transpose(x, p) contiguous, if x is a permuted
 * contiguous block (strides a permutation of contiguous strides). */
static bool dense_perm(const tc_tensor *x, int *p)
{
    int r = x->ndim;
    for (int i = 0; i < r; i++) p[i] = i;
    for (int i = 1; i < r; i++) /* insertion sort by stride, descending */
        for (int j = i; j > 0 && x->strides[p[j]] > x->strides[p[j - 1]]; j--) {
            int t = p[j];
            p[j] = p[j - 1];
            p[j - 1] = t;
        }
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        if (x->shape[p[i]] != 1 && x->strides[p[i]] != s) return false;
        s *= x->shape[p[i]];
    }
    return true;
}

static void invert(const int *p, int *inv, int r)
{
    for (int i = 0; i < r; i++) inv[p[i]] = i;
}

tc_tensor *tc_onnx_unary(tc_tensor *x, tc_tensor *(*fn)(tc_tensor *, void *), void *arg)
{
    int p[TC_MAX_DIMS], inv[TC_MAX_DIMS];
    if (!x || tc_is_contiguous(x) || !dense_perm(x, p)) return fn(x, arg);
    invert(p, inv, x->ndim);
    return tc_transpose(fn(tc_transpose(x, p), arg), inv);
}

tc_tensor *tc_onnx_binary_same_layout(tc_tensor *a, tc_tensor *b, tc_tensor *(*fn)(tc_tensor *, tc_tensor *))
{
    int p[TC_MAX_DIMS], inv[TC_MAX_DIMS];
    if (!a || !b || !tc_same_shape(a, b) || tc_is_contiguous(a) || !dense_perm(a, p)) return NULL;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != 1 && a->strides[i] != b->strides[i]) return NULL;
    invert(p, inv, a->ndim);
    return tc_transpose(fn(tc_transpose(a, p), tc_transpose(b, p)), inv);
}

bool tc_onnx_wants_grad(int n, tc_tensor *const *xs)
{
    if (!tc_grad_enabled()) return false;
    for (int i = 0; i < n; i++)
        if (xs[i] && (xs[i]->flags & TC_REQUIRES_GRAD)) return true;
    return false;
}

tc_tensor *tc_onnx_pick(onnx_ctx *c, int n_src, tc_tensor *const *srcs, const int64_t *idx, int ndim,
                        const int64_t *shape)
{
    tc_tensor **flat = tc_arena_alloc(sizeof *flat * (size_t)(n_src + 1));
    if (!flat) return NULL;
    int64_t total = 0;
    for (int i = 0; i < n_src; i++) {
        int64_t len = tc_numel(srcs[i]);
        if (!(flat[i] = tc_reshape(srcs[i], 1, &len))) return NULL;
        total += len;
    }
    int64_t n = tc_shape_numel(ndim, shape);
    for (int64_t j = 0; j < n; j++)
        if (idx[j] < 0 || idx[j] >= total) {
            tc_onnx_fail(c, TC_ERR_ARG, "index %lld is out of range (%lld values)", (long long)idx[j], (long long)total);
            return NULL;
        }
    tc_tensor *table = n_src == 1 ? flat[0] : tc_concat(n_src, flat, 0);
    tc_tensor *ix = tc_onnx_from_int64(ndim, shape, idx);
    if (!table || !ix) return NULL;
    if (total == 0) return tc_zeros(ndim, shape); /* nothing to pick from: an empty result */
    return tc_gather(table, ix, 0);
}

int tc_onnx_broadcast_shape(onnx_ctx *c, int n, tc_tensor *const *xs, int64_t *shape)
{
    int r = 0;
    for (int i = 0; i < n; i++)
        if (xs[i]->ndim > r) r = xs[i]->ndim;
    for (int d = 0; d < r; d++) shape[d] = 1;
    for (int i = 0; i < n; i++) {
        int off = r - xs[i]->ndim;
        for (int d = 0; d < xs[i]->ndim; d++) {
            int64_t v = xs[i]->shape[d], *o = &shape[off + d];
            if (v == *o || v == 1) continue;
            if (*o == 1) *o = v;
            else {
                tc_onnx_fail(c, TC_ERR_SHAPE, "shapes do not broadcast (input %d is %s)", i, TC_SHP(xs[i]));
                return -1;
            }
        }
    }
    return r;
}

tc_tensor *tc_onnx_from_int64(int ndim, const int64_t *shape, const int64_t *v)
{
    tc_tensor *t = tc_result(ndim, shape);
    if (t)
        for (int64_t i = 0; i < tc_numel(t); i++) t->data[i] = (tc_scalar)v[i];
    return t;
}

void tc_onnx_strides(int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        s *= shape[d];
    }
}

static const onnx_op_entry *const tables[] = {tc_onnx_ops_math,  tc_onnx_ops_shape, tc_onnx_ops_nn,
                                              tc_onnx_ops_rnn,   tc_onnx_ops_logic, tc_onnx_ops_index,
                                              tc_onnx_ops_more,  tc_onnx_ops_quant, tc_onnx_ops_control};

const char *tc_onnx_supported_op(int i)
{
    for (size_t t = 0; i >= 0 && t < sizeof tables / sizeof tables[0]; t++)
        for (const onnx_op_entry *e = tables[t]; e->op_type; e++)
            if (i-- == 0) return e->op_type;
    return NULL;
}

static const onnx_op_entry *lookup(const char *op)
{
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const onnx_op_entry *e = tables[t]; e->op_type; e++)
            if (!strcmp(e->op_type, op)) return e;
    return NULL;
}

tc_status tc_onnx_prepare_node(tc_onnx_model *m, onnx_node *n)
{
    const Onnx__NodeProto *np = n->proto;
    char lb[512];
    n->label = strdup(tc_onnx_node_label(np, lb, sizeof lb));
    n->attr = calloc(np->n_attribute + 1, sizeof *n->attr);
    if (!n->label || !n->attr) return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (!a->name) continue;
        onnx_attr *d = &n->attr[n->n_attr++];
        d->name = a->name;
        d->proto = a;
        if (a->has_s) {
            d->s = malloc(a->s.len + 1);
            if (!d->s) return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
            memcpy(d->s, a->s.data, a->s.len);
            d->s[a->s.len] = '\0';
        }
    }
    bool std_domain = !np->domain || !np->domain[0] || !strcmp(np->domain, "ai.onnx");
    n->op = std_domain && np->op_type ? lookup(np->op_type) : NULL;
    if (n->op && n->op->prep) {
        /* prepare inside a step mark: a prepare may build step tensors
         * (kept ones survive) without leaving them in the caller's step */
        tc_step_mark mark = tc_step_get_mark();
        tc_status s = n->op->prep(m, n);
        tc_step_release(mark);
        if (s != TC_OK) {
            if (s == TC_ERR_MEMORY) return s;
            n->prep_status = s;
            n->prep_error = strdup(tc_last_error());
        }
    }
    return TC_OK;
}

void tc_onnx_free_node(onnx_node *n)
{
    free(n->in);
    free(n->out);
    free(n->label);
    for (int i = 0; i < n->n_attr; i++) free(n->attr[i].s);
    free(n->attr);
    if (n->free_attrs) n->free_attrs(n->attrs);
    else free(n->attrs);
    free(n->prep_error);
    free(n->fusion);
    free(n->block);
}

/* The message of a failed node, prefixed with the model's path once. */
static tc_status with_path(const tc_onnx_model *m, tc_status s)
{
    if (!strstr(tc_last_error(), m->path)) {
        char inner[1024];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        tc_error(s, "%s: %s", m->path, inner);
    }
    return s;
}

tc_status tc_onnx_run_node(onnx_ctx *c, int k, onnx_live *live, bool *fused, tc_tensor **in, tc_tensor **out,
                           bool worker, tc_arena_span *keep)
{
    tc_onnx_model *m = c->m;
    const onnx_node *nd = &m->nodes[k];
    tc_tensor **val = c->val;
    tc_onnx_dtype *dt = c->dt, *in_dt = c->in_dtype, *out_dt = c->out_dtype;
    c->node = nd;
    c->label = nd->label;
    c->fusion = NULL, c->residual = NULL, c->fused = false;
    if (nd->fusion) {
        c->fusion = nd->fusion;
        if (nd->fusion->residual >= 0) {
            c->residual = val[nd->fusion->residual];
            if (!c->residual || dt[nd->fusion->residual] != TC_ONNX_FLOAT) c->fusion = NULL;
        }
    }
    if (!nd->op) {
        const char *dom = nd->proto->domain && nd->proto->domain[0] && strcmp(nd->proto->domain, "ai.onnx") ? nd->proto->domain : NULL;
        return tc_error(TC_ERR_UNSUPPORTED, "%s: %s: operator '%s'%s%s%s is not supported (see docs/onnx.md)", m->path,
                        nd->label, nd->proto->op_type ? nd->proto->op_type : "?", dom ? " of domain '" : "",
                        dom ? dom : "", dom ? "'" : "");
    }
    if (nd->prep_error) return tc_error(nd->prep_status, "%s", nd->prep_error);
    if (nd->block && !keep) { /* a chain never runs as one inside a region */
        out[0] = NULL; /* says so to tc_onnx_interop_note when it ran */
        int r = tc_onnx_block_run(c, k, live, fused);
        if (r < 0) return tc_last_status();
        if (r > 0) return TC_OK;
    }
    for (int i = 0; i < nd->n_in; i++) {
        in[i] = nd->in[i] >= 0 ? val[nd->in[i]] : NULL;
        in_dt[i] = nd->in[i] >= 0 ? dt[nd->in[i]] : TC_ONNX_FLOAT;
    }
    for (int i = 0; i < nd->n_out; i++) {
        out[i] = NULL;
        out_dt[i] = nd->n_in ? in_dt[0] : TC_ONNX_FLOAT;
    }
    double wall0 = 0, cpu0 = 0;
    if (m->profile) {
        tc_onnx_profile_clock(&wall0, &cpu0);
        /* the pool's time per node (not from a region's worker: the tag is the caller's) */
        if (tc_pool_stats_enabled() && !worker) tc_pool_stats_tag(nd->proto->name);
    }
    tc_arena_scope scratch = {0};
    if (worker) scratch = tc_arena_scope_begin();
    else tc_onnx_live_node_begin(live);
    tc_status s = nd->op->fn(c, nd, nd->n_in, in, nd->n_out, out);
    if (worker) tc_onnx_scratch_end(scratch, s == TC_OK, nd->n_out, out, keep);
    else tc_onnx_live_node_end(live, s == TC_OK, nd->n_out, out);
    if (s != TC_OK) return s;
    if (m->profile) tc_onnx_profile_add(m, k, wall0, cpu0, nd->n_in, in, out);
    if (c->fused) { /* the Conv computed its absorbed nodes: it writes the last one's output */
        fused[k] = true;
        if (!out[0]) return tc_error(TC_ERR_UNSUPPORTED, "%s: %s: output 0 is not produced", m->path, nd->label);
        val[nd->fusion->out_value] = out[0];
        dt[nd->fusion->out_value] = TC_ONNX_FLOAT;
        if (!worker) tc_onnx_live_produced(live, nd->fusion->out_value, out[0]);
        return TC_OK;
    }
    for (int i = 0; i < nd->n_out; i++) {
        if (nd->out[i] < 0) continue;
        if (!out[i]) return tc_error(TC_ERR_UNSUPPORTED, "%s: %s: output %d is not produced", m->path, nd->label, i);
        val[nd->out[i]] = out[i];
        dt[nd->out[i]] = out_dt[i];
        if (!worker) tc_onnx_live_produced(live, nd->out[i], out[i]);
    }
    return TC_OK;
}

tc_status tc_onnx_run(tc_onnx_model *m, int n_inputs, tc_tensor *const *inputs, int n_outputs, tc_tensor **outputs)
{
    return tc_onnx_run_graph(m, n_inputs, inputs, NULL, NULL, NULL, n_outputs, outputs, NULL);
}

tc_status tc_onnx_run_graph(tc_onnx_model *m, int n_inputs, tc_tensor *const *inputs, const tc_onnx_dtype *in_dt_given,
                            tc_tensor *const *outer_val, const tc_onnx_dtype *outer_dt, int n_outputs,
                            tc_tensor **outputs, tc_onnx_dtype *out_dt_got)
{
    if (!m) return tc_error(TC_ERR_ARG, "onnx_run: model is NULL");
    if (n_inputs != m->n_inputs)
        return tc_error(TC_ERR_ARG, "onnx_run: %s takes %d inputs, %d given", m->path, m->n_inputs, n_inputs);
    if (n_outputs > m->n_outputs)
        return tc_error(TC_ERR_ARG, "onnx_run: %s has %d outputs, %d asked", m->path, m->n_outputs, n_outputs);
    tc_tensor **val = tc_arena_alloc(sizeof *val * (size_t)(m->n_values + 1));
    tc_onnx_dtype *dt = tc_arena_alloc(sizeof *dt * (size_t)(m->n_values + 1));
    /* one set of argument arrays, as wide as the widest node (no fixed limit) */
    size_t io = (size_t)m->max_io + 1;
    tc_tensor **in = tc_arena_alloc(sizeof *in * io), **out = tc_arena_alloc(sizeof *out * io);
    tc_onnx_dtype *in_dt = tc_arena_alloc(sizeof *in_dt * io), *out_dt = tc_arena_alloc(sizeof *out_dt * io);
    if (!val || !dt || !in || !out || !in_dt || !out_dt) return tc_last_status();
    for (int i = 0; i < m->n_values; i++) {
        val[i] = m->values[i].init;
        dt[i] = m->values[i].dtype;
        if (m->values[i].outer >= 0 && outer_val) {
            val[i] = outer_val[m->values[i].outer];
            dt[i] = outer_dt[m->values[i].outer];
        }
    }
    for (int i = 0; i < n_inputs; i++) {
        const onnx_value *v = &m->values[m->inputs[i]];
        if (!inputs[i]) return tc_error(TC_ERR_ARG, "onnx_run: input '%s' is NULL", v->name);
        int64_t dims[TC_MAX_DIMS];
        int r = in_dt_given ? -1 : tc_onnx_declared_shape(v, dims);
        if (r >= 0) {
            bool ok = r == inputs[i]->ndim;
            for (int d = 0; ok && d < r; d++) ok = dims[d] < 0 || dims[d] == inputs[i]->shape[d];
            if (!ok) {
                char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
                return tc_error(TC_ERR_SHAPE, "onnx_run: input '%s' has shape %s but the model declares %s", v->name,
                                tc_shape_str(inputs[i], a, sizeof a), tc_dims_str(r, dims, b, sizeof b));
            }
        }
        val[m->inputs[i]] = inputs[i];
        if (in_dt_given) dt[m->inputs[i]] = in_dt_given[i];
    }
    onnx_ctx c = {.m = m, .in_dtype = in_dt, .out_dtype = out_dt, .val = val, .dt = dt};
    /* per node: its epilogue ran (onnx_fuse.c) or a chain computed it
     * (onnx_block.c); and, separately, a branch-parallel region ran it */
    bool *fused = tc_arena_alloc(sizeof *fused * (size_t)(m->n_nodes + 1));
    bool *done = tc_arena_alloc(sizeof *done * (size_t)(m->n_nodes + 1));
    if (!fused || !done) return tc_last_status();
    memset(fused, 0, sizeof *fused * (size_t)m->n_nodes);
    memset(done, 0, sizeof *done * (size_t)m->n_nodes);
    onnx_live *live = tc_onnx_live_begin(m, val); /* NULL: every intermediate stays (a gradient may be recorded) */
    onnx_interop *interop = tc_onnx_interop_begin(m, live, n_inputs, inputs); /* NULL: node by node */
    for (int k = 0; k < m->n_nodes; k++) {
        if (done[k] || tc_onnx_node_skipped(m, k, fused)) {
            tc_onnx_live_after(live, k);
            continue;
        }
        const int g = tc_onnx_interop_region_at(interop, k);
        tc_status s = g >= 0 ? tc_onnx_interop_run(interop, g, &c, live, fused, done)
                             : tc_onnx_run_node(&c, k, live, fused, in, out, false, NULL);
        if (s != TC_OK) {
            tc_onnx_interop_end(interop, false);
            return with_path(m, s);
        }
        if (g < 0) tc_onnx_interop_note(interop, k, m->nodes[k].n_in, in, out);
        tc_onnx_live_after(live, k);
    }
    tc_onnx_interop_end(interop, true);
    for (int i = 0; i < n_outputs; i++) {
        outputs[i] = val[m->outputs[i]];
        if (out_dt_got) out_dt_got[i] = dt[m->outputs[i]];
        if (!outputs[i]) return tc_error(TC_ERR_STATE, "onnx_run: output '%s' was not computed", m->values[m->outputs[i]].name);
    }
    return TC_OK;
}

bool tc_onnx_node_supported(const tc_onnx_model *m, int i)
{
    return m && i >= 0 && i < m->n_nodes && m->nodes[i].op && !m->nodes[i].prep_error;
}

/* Counts the nodes of m (and its subgraphs) that will not run, writing the
 * description of the one numbered *k when *k reaches 0. top: the model's
 * path, cut from a subgraph's ("model.onnx: Loop node 'x' body"). */
static int unsupported(const tc_onnx_model *m, const char *top, int *k, char *buf, size_t size)
{
    int count = 0;
    const char *where = strlen(m->path) > strlen(top) + 2 ? m->path + strlen(top) + 2 : NULL;
    for (int i = 0; i < m->n_nodes; i++) {
        const onnx_node *nd = &m->nodes[i];
        if (!nd->op || nd->prep_error) {
            if ((*k)-- == 0) {
                const Onnx__NodeProto *np = nd->proto;
                char what[1024];
                bool std_domain = !np->domain || !np->domain[0] || !strcmp(np->domain, "ai.onnx");
                if (nd->op) snprintf(what, sizeof what, "%s", nd->prep_error);
                else if (std_domain) snprintf(what, sizeof what, "%s: operator '%s' is not supported", nd->label, np->op_type ? np->op_type : "?");
                else snprintf(what, sizeof what, "%s: operator '%s' of domain '%s' is not supported", nd->label, np->op_type ? np->op_type : "?", np->domain);
                if (buf && size) snprintf(buf, size, "%s%s%s", where ? where : "", where ? ": " : "", what);
            }
            count++;
        }
        for (int b = 0; b < 2; b++)
            if (nd->sub[b]) count += unsupported(nd->sub[b], top, k, buf, size);
    }
    return count;
}

int tc_onnx_unsupported(const tc_onnx_model *m, int k, char *buf, size_t size)
{
    if (!m) return 0;
    if (buf && size) buf[0] = '\0';
    return unsupported(m, m->path, &k, buf, size);
}
