/* Buffer lifetimes of the ONNX interpreter: without this every intermediate
 * of a run stays in the step arena until the step ends (Inception-v3 at
 * batch 8: a 1.2 GB high water, page faults in the first runs, activations
 * that are never cache-resident). At the first run the plan records each
 * value's last reader; while running, every buffer made in this run counts
 * the live values that view it (Reshape, Transpose, Identity and the
 * channels-last views of Conv share one), and a buffer whose count falls to
 * zero goes back to the arena (tc_arena_recycle) for later nodes to reuse.
 *
 * Only in inference: when a gradient may be recorded the tape holds
 * intermediates for the backward, so nothing is handed back then. Memory
 * that existed before the run (the caller's inputs, an enclosing graph's
 * values, initializers) is never tracked, nor are the graph's outputs
 * released. */
#include "onnx_branches.h"
#include "onnx_run.h"

#include <limits.h>
#include <stdlib.h>

/* One buffer made in this run: [lo, hi) is the part of it its first view
 * covered (all of it for a fresh op result), count the live values on it. */
typedef struct {
    const tc_scalar *key; /* its storage pointer */
    unsigned char *lo, *hi;
    int count;
} live_buf;

struct onnx_live {
    const tc_onnx_model *m;
    size_t start;           /* arena offset at the run's start: older memory is not ours */
    const tc_scalar **key;  /* per value: the buffer it counts on, or NULL */
    live_buf *buf;
    int n_buf, cap_buf;
    tc_arena_scope scope;   /* the running node's scratch */
    tc_arena_span *keep;    /* 2 per output: its struct and its elements */
};

void tc_onnx_live_forget(tc_onnx_model *m)
{
    free(m->release_at);
    free(m->release_vals);
    m->release_at = m->release_vals = NULL;
    tc_onnx_interop_forget(m); /* planned from the same graph */
}

/* last[v] = the last node that reads v (its inputs, a fused Conv's
 * residual, what its subgraphs capture), or its producer if none does;
 * INT_MAX for the graph's outputs (never released). */
static tc_status plan(tc_onnx_model *m)
{
    int nv = m->n_values, nn = m->n_nodes;
    int *last = malloc(sizeof *last * (size_t)(nv + 1));
    m->release_at = calloc((size_t)nn + 1, sizeof *m->release_at);
    if (!last || !m->release_at) {
        free(last);
        tc_onnx_live_forget(m);
        return TC_ERR_MEMORY;
    }
    for (int v = 0; v < nv; v++) last[v] = -1;
    for (int k = 0; k < nn; k++) {
        const onnx_node *nd = &m->nodes[k];
        if (nd->skip) continue; /* a folded node never runs */
        for (int i = 0; i < nd->n_out; i++)
            if (nd->out[i] >= 0 && last[nd->out[i]] < k) last[nd->out[i]] = k;
        for (int i = 0; i < nd->n_in; i++)
            if (nd->in[i] >= 0) last[nd->in[i]] = k;
        if (nd->fusion) {
            /* the residual is also the absorbed Add's input (a later node); the
             * Conv writes the last absorbed node's output */
            if (nd->fusion->residual >= 0 && last[nd->fusion->residual] < k) last[nd->fusion->residual] = k;
            if (last[nd->fusion->out_value] < k) last[nd->fusion->out_value] = k;
        }
        for (int b = 0; b < 2; b++) {
            const tc_onnx_model *s = nd->sub[b];
            if (!s) continue;
            for (int i = 0; i < s->n_values; i++)
                if (s->values[i].outer >= 0 && s->values[i].outer < nv) last[s->values[i].outer] = k;
        }
    }
    for (int i = 0; i < m->n_outputs; i++) last[m->outputs[i]] = INT_MAX;
    int total = 0;
    for (int v = 0; v < nv; v++)
        if (last[v] >= 0 && last[v] < nn) m->release_at[last[v] + 1]++, total++;
    for (int k = 0; k < nn; k++) m->release_at[k + 1] += m->release_at[k];
    m->release_vals = malloc(sizeof *m->release_vals * (size_t)(total + 1));
    if (!m->release_vals) {
        free(last);
        tc_onnx_live_forget(m);
        return TC_ERR_MEMORY;
    }
    int *at = calloc((size_t)nn + 1, sizeof *at);
    if (!at) {
        free(last);
        tc_onnx_live_forget(m);
        return TC_ERR_MEMORY;
    }
    for (int v = 0; v < nv; v++)
        if (last[v] >= 0 && last[v] < nn) m->release_vals[m->release_at[last[v]] + at[last[v]]++] = v;
    free(at);
    free(last);
    return TC_OK;
}

/* TENSORCOOK_ONNX_REUSE=0 keeps every intermediate to the step's end (to
 * compare; read at every run, which costs far less than one node) */
static bool reuse_enabled(void)
{
    const char *e = getenv("TENSORCOOK_ONNX_REUSE");
    return !(e && e[0] == '0');
}

onnx_live *tc_onnx_live_begin(tc_onnx_model *m, tc_tensor *const *val)
{
    if (!reuse_enabled()) return NULL;
    if (tc_grad_enabled()) /* val holds what the graph reads from outside: nothing may need a gradient */
        for (int v = 0; v < m->n_values; v++)
            if (val[v] && (val[v]->flags & TC_REQUIRES_GRAD)) return NULL;
    if (!m->release_at && plan(m) != TC_OK) return NULL;
    tc_status before = tc_last_status();
    onnx_live *l = tc_arena_alloc(sizeof *l);
    const tc_scalar **key = tc_arena_alloc(sizeof *key * (size_t)(m->n_values + 1));
    live_buf *buf = tc_arena_alloc(sizeof *buf * (size_t)(m->n_values + 1));
    tc_arena_span *keep = tc_arena_alloc(sizeof *keep * 2 * (size_t)(m->max_io + 1));
    if (!l || !key || !buf || !keep) {
        if (before == TC_OK) tc_clear_error();
        return NULL;
    }
    memset(key, 0, sizeof *key * (size_t)(m->n_values + 1));
    *l = (onnx_live){.m = m, .start = tc_arena_position(), .key = key, .buf = buf, .cap_buf = m->n_values + 1, .keep = keep};
    return l;
}

/* The elements a view can reach: [*lo, *hi) in bytes; false if it reaches
 * before its storage pointer or holds nothing. */
static bool view_span(const tc_tensor *t, unsigned char **lo, unsigned char **hi)
{
    if (!t->storage || tc_numel(t) == 0) return false;
    int64_t a = t->offset, b = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        int64_t ext = (t->shape[d] - 1) * t->strides[d];
        if (ext < 0) a += ext;
        else b += ext;
    }
    if (a < 0) return false;
    *lo = (unsigned char *)(t->storage + a);
    *hi = (unsigned char *)(t->storage + b + 1);
    return true;
}

void tc_onnx_live_node_begin(onnx_live *l)
{
    if (l) l->scope = tc_arena_scope_begin();
}

void tc_onnx_scratch_end(tc_arena_scope scope, bool ok, int n_out, tc_tensor *const *out, tc_arena_span *keep)
{
    int n = 0;
    for (int i = 0; ok && i < n_out; i++) {
        const tc_tensor *t = out[i];
        if (!t) continue;
        keep[n++] = (tc_arena_span){t, t + 1};
        unsigned char *lo, *hi;
        if (view_span(t, &lo, &hi)) keep[n++] = (tc_arena_span){lo, hi};
    }
    tc_arena_scope_end(scope, ok ? n : -1, keep);
}

void tc_onnx_live_node_end(onnx_live *l, bool ok, int n_out, tc_tensor *const *out)
{
    if (l) tc_onnx_scratch_end(l->scope, ok, n_out, out, l->keep);
}

void tc_onnx_live_produced(onnx_live *l, int v, const tc_tensor *t)
{
    if (!l || v < 0 || !t || !t->storage || l->key[v] || tc_numel(t) == 0) return;
    for (int i = 0; i < l->n_buf; i++)
        if (l->buf[i].key == t->storage) {
            l->buf[i].count++;
            l->key[v] = t->storage;
            return;
        }
    /* a new buffer: the span of this view, from the storage pointer on (an
     * op result's allocation starts there) */
    unsigned char *b_lo, *b_hi;
    size_t off;
    if (!view_span(t, &b_lo, &b_hi) || !tc_arena_offset_of(t->storage, &off) || off < l->start) return; /* not made in this run */
    b_lo = (unsigned char *)t->storage;
    for (int i = 0; i < l->n_buf; i++)
        if (b_lo < l->buf[i].hi && l->buf[i].lo < b_hi) {
            /* a view into another buffer under a storage pointer of its own:
             * not expected from tensorcook's ops; keep that buffer for the run */
            l->buf[i].count = INT_MAX / 2;
            return;
        }
    if (l->n_buf == l->cap_buf) return;
    l->buf[l->n_buf++] = (live_buf){.key = t->storage, .lo = b_lo, .hi = b_hi, .count = 1};
    l->key[v] = t->storage;
}

void tc_onnx_live_after(onnx_live *l, int k)
{
    if (!l) return;
    const tc_onnx_model *m = l->m;
    for (int j = m->release_at[k]; j < m->release_at[k + 1]; j++) {
        int v = m->release_vals[j];
        const tc_scalar *key = l->key[v];
        if (!key) continue;
        l->key[v] = NULL;
        for (int i = 0; i < l->n_buf; i++) {
            if (l->buf[i].key != key) continue;
            if (--l->buf[i].count == 0) {
                tc_arena_recycle(l->buf[i].lo, (size_t)(l->buf[i].hi - l->buf[i].lo));
                l->buf[i] = l->buf[--l->n_buf];
            }
            break;
        }
    }
}
