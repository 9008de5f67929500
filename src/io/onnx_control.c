/* Control flow: If, Loop and Scan. Their bodies are subgraphs (graph
 * attributes) loaded at prepare time as models of their own, whose values
 * capture the enclosing graph's by name (tc_onnx_load_subgraph). A body runs
 * through the same interpreter, as ordinary tensorcook operations, and the
 * iterations are joined with narrow/reshape/concat, so the tape records the
 * whole unrolled computation and gradients flow through loop-carried values,
 * scan inputs and outputs, and captured outer values. */
#include "onnx_run.h"

#include <stdlib.h>

/* A Loop without a trip count runs while its condition holds; this many
 * iterations without the condition turning false is taken as a loop that
 * never ends (every iteration keeps its step tensors until the step ends,
 * so an endless loop would otherwise exhaust memory, or hang a fuzzer). */
#define ONNX_MAX_WHILE_ITERATIONS ((int64_t)1 << 16)

typedef struct {
    tc_onnx_model *g[2]; /* If: then, else; Loop and Scan: the body */
    int n_scan;          /* Scan: num_scan_inputs */
    int64_t *in_axes, *in_dirs, *out_axes, *out_dirs; /* Scan: per scan input / output, or NULL (defaults) */
} cf_attrs;

static void free_cf(void *p)
{
    cf_attrs *a = p;
    if (!a) return;
    tc_onnx_free(a->g[0]);
    tc_onnx_free(a->g[1]);
    free(a->in_axes);
    free(a->in_dirs);
    free(a->out_axes);
    free(a->out_dirs);
    free(a);
}

static tc_status load_body(tc_onnx_model *m, onnx_node *n, const char *attr, tc_onnx_model **out)
{
    const Onnx__AttributeProto *a = tc_onnx_attr(n, attr);
    if (!a || !a->g) return tc_onnx_prep_fail(n, TC_ERR_FORMAT, "the graph attribute '%s' is missing", attr);
    char who[600];
    snprintf(who, sizeof who, "%s %s", n->label, attr);
    *out = tc_onnx_load_subgraph(m, a->g, who);
    if (!*out) return tc_last_status();
    n->sub[n->sub[0] ? 1 : 0] = *out; /* for tc_onnx_unsupported */
    return TC_OK;
}

static cf_attrs *new_attrs(onnx_node *n)
{
    cf_attrs *a = ATTRS_NEW(cf_attrs);
    if (a) n->free_attrs = free_cf;
    return a;
}

/* A scalar input's truth (bool, integer or float: non-zero). */
static tc_status truth(onnx_ctx *c, tc_tensor *t, const char *what, bool *v)
{
    if (tc_numel(t) != 1) return tc_onnx_fail(c, TC_ERR_SHAPE, "%s must hold one value, has shape %s", what, TC_SHP(t));
    const tc_scalar *p = tc_packed(t);
    if (!p) return tc_last_status();
    *v = p[0] != 0;
    return TC_OK;
}

/* The body's failure as this node's: the body's path already names the
 * node and the body ("model.onnx: Loop node 'x' body: Add node ..."). */
static tc_status body_run(onnx_ctx *c, tc_onnx_model *body, int n_in, tc_tensor **in, const tc_onnx_dtype *in_dt,
                          int n_out, tc_tensor **out, tc_onnx_dtype *out_dt)
{
    return tc_onnx_run_graph(body, n_in, in, in_dt, c->val, c->dt, n_out, out, out_dt);
}

/* Stacks n tensors of one shape along a new axis (0 <= axis <= rank), in
 * order (reverse: last first). Zero tensors: an empty [0] tensor. */
static tc_tensor *stack(onnx_ctx *c, int n, tc_tensor **xs, int axis, bool reverse)
{
    if (n == 0) {
        int64_t z = 0;
        return tc_zeros(1, &z);
    }
    tc_tensor **parts = tc_arena_alloc(sizeof *parts * (size_t)n);
    if (!parts) return NULL;
    int r = xs[0]->ndim;
    if (r + 1 > TC_MAX_DIMS) {
        tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "stacked outputs of rank %d (at most %d dimensions)", r + 1, TC_MAX_DIMS);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        tc_tensor *x = xs[reverse ? n - 1 - i : i];
        if (!tc_same_shape(x, xs[0])) {
            char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
            tc_onnx_fail(c, TC_ERR_SHAPE, "iteration %d gives a scan output of shape %s, iteration 0 %s",
                         reverse ? n - 1 - i : i, tc_shape_str(x, a, sizeof a), tc_shape_str(xs[0], b, sizeof b));
            return NULL;
        }
        int64_t shape[TC_MAX_DIMS];
        for (int d = 0, k = 0; d <= r; d++) shape[d] = d == axis ? 1 : x->shape[k++];
        if (!(parts[i] = tc_reshape(x, r + 1, shape))) return NULL;
    }
    return n == 1 ? parts[0] : tc_concat(n, parts, axis);
}

/* x[..., i, ...] along axis, without that axis (a view where x allows it). */
static tc_tensor *take(tc_tensor *x, int axis, int64_t i)
{
    tc_tensor *s = tc_narrow(x, axis, i, 1);
    if (!s) return NULL;
    int64_t shape[TC_MAX_DIMS];
    for (int d = 0, k = 0; d < x->ndim; d++)
        if (d != axis) shape[k++] = x->shape[d];
    return tc_reshape(s, x->ndim - 1, shape);
}

/* A growable list of step tensors (scan outputs, one per iteration). */
typedef struct {
    tc_tensor **t;
    int n, cap;
} tlist;

static bool tlist_push(tlist *l, tc_tensor *t)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        tc_tensor **g = tc_arena_alloc(sizeof *g * (size_t)cap);
        if (!g) return false;
        if (l->n) memcpy(g, l->t, sizeof *g * (size_t)l->n);
        l->t = g;
        l->cap = cap;
    }
    l->t[l->n++] = t;
    return true;
}

/* ---- If ---------------------------------------------------------------- */
PREP(prep_if)
{
    cf_attrs *a = new_attrs(n);
    if (!a) return TC_ERR_MEMORY;
    tc_status s = load_body(m, n, "then_branch", &a->g[0]);
    if (s == TC_OK) s = load_body(m, n, "else_branch", &a->g[1]);
    if (s != TC_OK) return s;
    for (int b = 0; b < 2; b++)
        if (a->g[b]->n_outputs != n->n_out || a->g[b]->n_inputs != 0)
            return tc_onnx_prep_fail(n, TC_ERR_FORMAT, "%s has %d inputs and %d outputs (the node has %d outputs; a branch takes no inputs)",
                                     b ? "else_branch" : "then_branch", a->g[b]->n_inputs, a->g[b]->n_outputs, n->n_out);
    return TC_OK;
}

OP(op_if)
{
    NEED(1);
    bool cond;
    tc_status s = truth(c, in[0], "the condition", &cond);
    if (s != TC_OK) return s;
    /* the branch writes its outputs (and their types) straight into ours */
    return body_run(c, ATTRS(cf_attrs)->g[cond ? 0 : 1], 0, NULL, NULL, n_out, out, c->out_dtype);
}

/* ---- Loop -------------------------------------------------------------- */
PREP(prep_loop)
{
    cf_attrs *a = new_attrs(n);
    if (!a) return TC_ERR_MEMORY;
    tc_status s = load_body(m, n, "body", &a->g[0]);
    if (s != TC_OK) return s;
    int n_carried = n->n_in - 2;
    if (n_carried < 0 || n->n_out < n_carried)
        return tc_onnx_prep_fail(n, TC_ERR_FORMAT, "has %d inputs and %d outputs (needs M, cond and as many outputs as loop-carried values)",
                                 n->n_in, n->n_out);
    int n_scan = n->n_out - n_carried;
    if (a->g[0]->n_inputs != 2 + n_carried || a->g[0]->n_outputs != 1 + n_carried + n_scan)
        return tc_onnx_prep_fail(n, TC_ERR_FORMAT, "the body has %d inputs and %d outputs; %d loop-carried values and %d scan outputs need %d and %d",
                                 a->g[0]->n_inputs, a->g[0]->n_outputs, n_carried, n_scan, 2 + n_carried, 1 + n_carried + n_scan);
    return TC_OK;
}

OP(op_loop)
{
    tc_onnx_model *body = ATTRS(cf_attrs)->g[0];
    int n_carried = n_in - 2, n_scan = n_out - n_carried;
    int64_t trips = INT64_MAX;
    bool has_cond = in[1] != NULL, cond = true;
    if (in[0]) {
        if (tc_numel(in[0]) != 1) return tc_onnx_fail(c, TC_ERR_SHAPE, "the trip count M must hold one value, has shape %s", TC_SHP(in[0]));
        if (tc_onnx_ints(c, in[0], &trips, 1, "the trip count M") < 0) return tc_last_status();
    }
    if (has_cond) {
        tc_status s = truth(c, in[1], "the condition", &cond);
        if (s != TC_OK) return s;
    }
    if (!in[0] && !has_cond) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "has neither a trip count nor a condition: it would never end");
    for (int j = 0; j < n_carried; j++)
        if (!in[2 + j]) return tc_onnx_fail(c, TC_ERR_ARG, "loop-carried input %d is missing", j);
    int nb_in = 2 + n_carried, nb_out = 1 + n_carried + n_scan;
    tc_tensor **b_in = tc_arena_alloc(sizeof *b_in * (size_t)(nb_in + 1));
    tc_tensor **b_out = tc_arena_alloc(sizeof *b_out * (size_t)(nb_out + 1));
    tc_onnx_dtype *b_in_dt = tc_arena_alloc(sizeof *b_in_dt * (size_t)(nb_in + 1));
    tc_onnx_dtype *b_out_dt = tc_arena_alloc(sizeof *b_out_dt * (size_t)(nb_out + 1));
    tlist *scans = tc_arena_alloc(sizeof *scans * (size_t)(n_scan + 1));
    if (!b_in || !b_out || !b_in_dt || !b_out_dt || !scans) return tc_last_status();
    memset(scans, 0, sizeof *scans * (size_t)(n_scan + 1));
    for (int j = 0; j < n_carried; j++) {
        b_in[2 + j] = in[2 + j];
        b_in_dt[2 + j] = c->in_dtype[2 + j];
    }
    b_in_dt[0] = TC_ONNX_INT64;
    b_in_dt[1] = TC_ONNX_INT64; /* booleans travel as integer 0/1 */
    for (int64_t i = 0; i < trips && cond; i++) {
        int64_t one = 1, ci = cond;
        if (!in[0] && i == ONNX_MAX_WHILE_ITERATIONS)
            return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "ran %lld iterations without its condition turning false (no trip count)",
                                (long long)i);
        if (!(b_in[0] = tc_onnx_from_int64(0, &one, &i)) || !(b_in[1] = tc_onnx_from_int64(0, &one, &ci)))
            return tc_last_status();
        tc_status s = body_run(c, body, nb_in, b_in, b_in_dt, nb_out, b_out, b_out_dt);
        if (s != TC_OK) return s;
        /* the body's condition ends the loop only when the node has one (else the spec ignores it) */
        if (has_cond && (s = truth(c, b_out[0], "the body's condition output", &cond)) != TC_OK) return s;
        for (int j = 0; j < n_carried; j++) {
            b_in[2 + j] = b_out[1 + j];
            b_in_dt[2 + j] = b_out_dt[1 + j];
        }
        for (int k = 0; k < n_scan; k++) {
            if (!tlist_push(&scans[k], b_out[1 + n_carried + k])) return tc_last_status();
            c->out_dtype[n_carried + k] = b_out_dt[1 + n_carried + k];
        }
    }
    for (int j = 0; j < n_carried; j++) {
        out[j] = b_in[2 + j];
        c->out_dtype[j] = b_in_dt[2 + j];
    }
    for (int k = 0; k < n_scan; k++) ONNX_TRY(c, out[n_carried + k] = stack(c, scans[k].n, scans[k].t, 0, false));
    return TC_OK;
}

/* ---- Scan -------------------------------------------------------------- */
/* attribute list of exactly k entries (or absent: NULL); values checked when running */
static tc_status scan_list(onnx_node *n, const char *name, int k, int64_t **out)
{
    const Onnx__AttributeProto *a = tc_onnx_attr(n, name);
    *out = NULL;
    if (!a) return TC_OK;
    if ((int64_t)a->n_ints != k)
        return tc_onnx_prep_fail(n, TC_ERR_FORMAT, "'%s' has %zu entries, needs %d", name, a->n_ints, k);
    *out = malloc(sizeof **out * (size_t)(k + 1));
    if (!*out) return tc_error(TC_ERR_MEMORY, "%s: out of memory", n->label);
    for (int i = 0; i < k; i++) (*out)[i] = a->ints[i];
    return TC_OK;
}

PREP(prep_scan)
{
    cf_attrs *a = new_attrs(n);
    if (!a) return TC_ERR_MEMORY;
    tc_status s = load_body(m, n, "body", &a->g[0]);
    if (s != TC_OK) return s;
    int64_t ns = tc_onnx_attr_int(n, "num_scan_inputs", -1);
    int first = m->opset < 9 ? 1 : 0; /* Scan 8: sequence_lens comes first */
    int n_state = n->n_in - first - (int)ns;
    if (ns < 1 || n_state < 0 || n->n_out < n_state)
        return tc_onnx_prep_fail(n, TC_ERR_FORMAT, "num_scan_inputs %lld does not fit %d inputs and %d outputs", (long long)ns,
                                 n->n_in, n->n_out);
    a->n_scan = (int)ns;
    int n_scan_out = n->n_out - n_state;
    if (a->g[0]->n_inputs != n_state + a->n_scan || a->g[0]->n_outputs != n->n_out)
        return tc_onnx_prep_fail(n, TC_ERR_FORMAT, "the body has %d inputs and %d outputs; %d states, %d scan inputs and %d scan outputs need %d and %d",
                                 a->g[0]->n_inputs, a->g[0]->n_outputs, n_state, a->n_scan, n_scan_out, n_state + a->n_scan, n->n_out);
    if (m->opset < 9) {
        if ((s = scan_list(n, "directions", a->n_scan, &a->in_dirs)) != TC_OK) return s;
    } else if ((s = scan_list(n, "scan_input_axes", a->n_scan, &a->in_axes)) != TC_OK ||
               (s = scan_list(n, "scan_input_directions", a->n_scan, &a->in_dirs)) != TC_OK ||
               (s = scan_list(n, "scan_output_axes", n_scan_out, &a->out_axes)) != TC_OK ||
               (s = scan_list(n, "scan_output_directions", n_scan_out, &a->out_dirs)) != TC_OK)
        return s;
    return TC_OK;
}

/* One scan over n_state states and the scan inputs xs (each scanned along
 * its axis, in its direction); writes the final states and the stacked scan
 * outputs to out[0 .. n_out). */
static tc_status scan_core(onnx_ctx *c, const cf_attrs *a, int n_state, tc_tensor **states, const tc_onnx_dtype *st_dt,
                           tc_tensor **xs, const tc_onnx_dtype *x_dt, const int *axes, int n_out, tc_tensor **out,
                           tc_onnx_dtype *out_dt)
{
    int ns = a->n_scan, n_so = n_out - n_state, nb_in = n_state + ns;
    int64_t len = xs[0]->shape[axes[0]];
    for (int j = 1; j < ns; j++)
        if (xs[j]->shape[axes[j]] != len)
            return tc_onnx_fail(c, TC_ERR_SHAPE, "scan input %d has %lld steps along axis %d, scan input 0 %lld", j,
                                (long long)xs[j]->shape[axes[j]], axes[j], (long long)len);
    tc_tensor **b_in = tc_arena_alloc(sizeof *b_in * (size_t)(nb_in + 1));
    tc_tensor **b_out = tc_arena_alloc(sizeof *b_out * (size_t)(n_out + 1));
    tc_onnx_dtype *b_in_dt = tc_arena_alloc(sizeof *b_in_dt * (size_t)(nb_in + 1));
    tc_onnx_dtype *b_out_dt = tc_arena_alloc(sizeof *b_out_dt * (size_t)(n_out + 1));
    tlist *scans = tc_arena_alloc(sizeof *scans * (size_t)(n_so + 1));
    if (!b_in || !b_out || !b_in_dt || !b_out_dt || !scans) return tc_last_status();
    memset(scans, 0, sizeof *scans * (size_t)(n_so + 1));
    for (int j = 0; j < n_state; j++) {
        b_in[j] = states[j];
        b_in_dt[j] = st_dt[j];
    }
    for (int j = 0; j < ns; j++) b_in_dt[n_state + j] = x_dt[j];
    for (int k = 0; k < n_so; k++) out_dt[n_state + k] = TC_ONNX_FLOAT;
    for (int64_t t = 0; t < len; t++) {
        for (int j = 0; j < ns; j++) {
            int64_t at = a->in_dirs && a->in_dirs[j] ? len - 1 - t : t;
            ONNX_TRY(c, b_in[n_state + j] = take(xs[j], axes[j], at));
        }
        tc_status s = body_run(c, a->g[0], nb_in, b_in, b_in_dt, n_out, b_out, b_out_dt);
        if (s != TC_OK) return s;
        for (int j = 0; j < n_state; j++) {
            b_in[j] = b_out[j];
            b_in_dt[j] = b_out_dt[j];
        }
        for (int k = 0; k < n_so; k++) {
            if (!tlist_push(&scans[k], b_out[n_state + k])) return tc_last_status();
            out_dt[n_state + k] = b_out_dt[n_state + k];
        }
    }
    for (int j = 0; j < n_state; j++) {
        out[j] = b_in[j];
        out_dt[j] = b_in_dt[j];
    }
    for (int k = 0; k < n_so; k++) {
        int r = scans[k].n ? scans[k].t[0]->ndim : 0;
        int64_t ax = a->out_axes ? a->out_axes[k] : 0;
        if (ax < 0) ax += r + 1;
        if (ax < 0 || ax > r)
            return tc_onnx_fail(c, TC_ERR_ARG, "scan_output_axes[%d] = %lld is out of range for rank %d", k,
                                (long long)(a->out_axes ? a->out_axes[k] : 0), r + 1);
        bool rev = a->out_dirs && a->out_dirs[k];
        ONNX_TRY(c, out[n_state + k] = stack(c, scans[k].n, scans[k].t, (int)ax, rev));
    }
    return TC_OK;
}

OP(op_scan)
{
    const cf_attrs *a = ATTRS(cf_attrs);
    int first = c->m->opset < 9 ? 1 : 0, ns = a->n_scan;
    int n_state = n_in - first - ns;
    tc_tensor **xs = in + first + n_state, **states = in + first;
    const tc_onnx_dtype *st_dt = c->in_dtype + first, *x_dt = c->in_dtype + first + n_state;
    for (int i = first; i < n_in; i++)
        if (!in[i]) return tc_onnx_fail(c, TC_ERR_ARG, "input %d is missing", i);
    int *axes = tc_arena_alloc(sizeof *axes * (size_t)(ns + 1));
    if (!axes) return tc_last_status();
    if (!first) {
        for (int j = 0; j < ns; j++) {
            int64_t ax = a->in_axes ? a->in_axes[j] : 0;
            if ((axes[j] = tc_onnx_axis(c, ax, xs[j]->ndim)) < 0) return tc_last_status();
        }
        return scan_core(c, a, n_state, states, st_dt, xs, x_dt, axes, n_out, out, c->out_dtype);
    }
    /* Scan 8: axis 0 of every state and scan input is a batch, scanned one
     * item at a time along axis 1; results are stacked back along axis 0. */
    int64_t batch = -1;
    for (int i = first; i < n_in; i++) {
        if (in[i]->ndim < (i >= first + n_state ? 2 : 1))
            return tc_onnx_fail(c, TC_ERR_SHAPE, "input %d has shape %s: Scan 8 needs a batch axis (and a sequence axis)", i,
                                TC_SHP(in[i]));
        if (batch >= 0 && in[i]->shape[0] != batch)
            return tc_onnx_fail(c, TC_ERR_SHAPE, "input %d has batch %lld, input %d %lld", i, (long long)in[i]->shape[0], first,
                                (long long)batch);
        batch = in[i]->shape[0];
    }
    if (in[0]) { /* sequence_lens: only full lengths (every item scans all of axis 1) */
        const tc_scalar *p = tc_packed(in[0]);
        if (!p && tc_numel(in[0])) return tc_last_status();
        for (int64_t b = 0; b < tc_numel(in[0]); b++)
            if ((int64_t)p[b] != xs[0]->shape[1])
                return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "sequence_lens[%lld] = %lld: only full-length sequences (%lld) are supported",
                                    (long long)b, (long long)p[b], (long long)xs[0]->shape[1]);
    }
    for (int j = 0; j < ns; j++) axes[j] = 0; /* axis 1 of the batch, axis 0 of one item */
    tc_tensor **st_b = tc_arena_alloc(sizeof *st_b * (size_t)(n_state + ns + 1)), **xs_b = st_b + n_state;
    tc_tensor ***per = tc_arena_alloc(sizeof *per * (size_t)(n_out + 1));
    tc_onnx_dtype *o_dt = tc_arena_alloc(sizeof *o_dt * (size_t)(n_out + 1));
    if (!st_b || !per || !o_dt) return tc_last_status();
    for (int k = 0; k < n_out; k++)
        if (!(per[k] = tc_arena_alloc(sizeof **per * (size_t)(batch + 1)))) return tc_last_status();
    tc_tensor **res = tc_arena_alloc(sizeof *res * (size_t)(n_out + 1));
    if (!res) return tc_last_status();
    for (int64_t b = 0; b < batch; b++) {
        for (int j = 0; j < n_state; j++) ONNX_TRY(c, st_b[j] = take(states[j], 0, b));
        for (int j = 0; j < ns; j++) ONNX_TRY(c, xs_b[j] = take(xs[j], 0, b));
        tc_status s = scan_core(c, a, n_state, st_b, st_dt, xs_b, x_dt, axes, n_out, res, o_dt);
        if (s != TC_OK) return s;
        for (int k = 0; k < n_out; k++) per[k][b] = res[k];
    }
    for (int k = 0; k < n_out; k++) {
        ONNX_TRY(c, out[k] = stack(c, (int)batch, per[k], 0, false));
        c->out_dtype[k] = batch ? o_dt[k] : (k < n_state ? st_dt[k] : TC_ONNX_FLOAT);
    }
    return TC_OK;
}

const onnx_op_entry tc_onnx_ops_control[] = {
    {"If", op_if, prep_if},
    {"Loop", op_loop, prep_loop},
    {"Scan", op_scan, prep_scan},
    {NULL, NULL, NULL},
};
