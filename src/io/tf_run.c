/* Running a TensorFlow graph: mark the nodes the fetches depend on (a fed
 * node cuts the walk: what it would read is not needed), then run the
 * marked ones in topological order through their translations, which
 * record themselves on the tape like any tensorcook operation. */
#include "tf_internal.h"
#include "../core/internal.h"

#include <string.h>

static tc_status fail_node(const tc_tf_model *m, int node)
{
    const Tctf__NodeDef *d = m->g->def->node[node];
    if (strstr(tc_last_error(), m->path)) return tc_last_status() ? tc_last_status() : TC_ERR_ARG;
    char inner[1024];
    snprintf(inner, sizeof inner, "%s", tc_last_error());
    return tc_error(tc_last_status() ? tc_last_status() : TC_ERR_ARG, "%s: node '%s' (%s): %s", m->path, d->name, d->op,
                    inner);
}

/* A fed Placeholder must match the shape it declares (unknown dims pass). */
static tc_status check_feed(const tc_tf_model *m, int node, const tc_tensor *x, const char *name)
{
    if (!x) return tc_error(TC_ERR_ARG, "%s: the tensor fed to '%s' is NULL", m->path, name);
    for (int i = 0; i < m->n_inputs; i++) {
        if (m->input_nodes[i] != node) continue;
        int64_t dims[TC_MAX_DIMS];
        int r = tc_tf_input_shape(m, i, dims);
        bool ok = r < 0 || r == x->ndim;
        for (int d = 0; ok && d < r; d++) ok = dims[d] < 0 || dims[d] == x->shape[d];
        if (!ok) {
            char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
            return tc_error(TC_ERR_SHAPE, "%s: '%s' is fed a tensor of shape %s; the placeholder is %s", m->path, name,
                            tc_shape_str(x, a, sizeof a), tc_dims_str(r, dims, b, sizeof b));
        }
    }
    return TC_OK;
}

tc_status tc_tf_run(tc_tf_model *m, int n_feeds, const char *const *feed_names, tc_tensor *const *feeds, int n_fetches,
                    const char *const *fetch_names, tc_tensor **fetches)
{
    if (!m) return tc_error(TC_ERR_ARG, "tf_run: the model is NULL");
    const tf_graph *g = m->g;
    int n = g->n_nodes;
    size_t cells = (size_t)(n ? n : 1);
    tc_tensor **val = tc_arena_alloc(sizeof *val * cells);
    char *need = tc_arena_alloc(cells), *fed = tc_arena_alloc(cells);
    int widest = 1;
    size_t edges = 1;
    for (int i = 0; i < n; i++) {
        if (g->n_inputs[i] > widest) widest = g->n_inputs[i];
        edges += (size_t)g->n_inputs[i];
    }
    /* a node is pushed at most once per consumer edge, plus once as a fetch */
    int *stack = tc_arena_alloc(sizeof(int) * edges);
    tc_tensor **in = tc_arena_alloc(sizeof *in * (size_t)widest);
    if (!val || !need || !fed || !stack || !in) return tc_last_status();
    memset(val, 0, sizeof *val * cells);
    memset(need, 0, cells);
    memset(fed, 0, cells);
    for (int f = 0; f < n_feeds; f++) {
        int i = tc_tf_find(m, feed_names[f]);
        if (i < 0) return tc_error(TC_ERR_ARG, "%s: no node '%s' to feed", m->path, feed_names[f]);
        tc_status s = check_feed(m, i, feeds[f], feed_names[f]);
        if (s != TC_OK) return s;
        val[i] = feeds[f];
        fed[i] = 1;
    }
    /* depth-first from the fetches; each node is pushed once per consumer at
     * most, and marked once */
    for (int f = 0; f < n_fetches; f++) {
        int i = tc_tf_find(m, fetch_names[f]);
        if (i < 0)
            return tc_error(TC_ERR_ARG, "%s: no tensor '%s' to fetch ('tensorcook tf info' lists the names)", m->path,
                            fetch_names[f]);
        int top = 0;
        stack[top++] = i;
        while (top) {
            int j = stack[--top];
            if (need[j]) continue;
            need[j] = 1;
            if (fed[j]) continue;
            for (int k = 0; k < g->n_inputs[j]; k++)
                if (!g->inputs[j][k].control && !need[g->inputs[j][k].node]) stack[top++] = g->inputs[j][k].node;
        }
    }
    for (int o = 0; o < n; o++) {
        int i = g->order[o];
        if (!need[i] || fed[i]) continue;
        int k = 0;
        for (int j = 0; j < g->n_inputs[i]; j++)
            if (!g->inputs[i][j].control) in[k++] = val[g->inputs[i][j].node];
        tf_ctx c = {.m = m, .node = i, .def = g->def->node[i]};
        if (!(val[i] = m->op[i]->fn(&c, k, in))) return fail_node(m, i);
    }
    for (int f = 0; f < n_fetches; f++) fetches[f] = val[tc_tf_find(m, fetch_names[f])];
    return TC_OK;
}
