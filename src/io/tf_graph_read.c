/* Reading a TensorFlow GraphDef: parse with protobuf-c (which checks every
 * length), resolve each input "name[:k]" to a node, and order the nodes
 * topologically with Kahn's algorithm so that a cycle is found and named. */
#include "tf_internal.h"

#include <stdlib.h>
#include <string.h>

/* protobuf cannot hold a message over 2 GiB. */
#define TF_MAX_FILE ((size_t)2 << 30)

int tc_tf_graph_find(const tf_graph *g, const char *name)
{
    /* Linear: graphs have a few thousand nodes and lookups happen at load. */
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->def->node[i]->name, name)) return i;
    return -1;
}

void tc_tf_graph_free(tf_graph *g)
{
    if (!g) return;
    if (g->inputs)
        for (int i = 0; i < g->n_nodes; i++) free(g->inputs[i]);
    free(g->inputs);
    free(g->n_inputs);
    free(g->order);
    if (g->def) tctf__graph_def__free_unpacked(g->def, NULL);
    free(g);
}

/* "name", "name:k"; a control input "^name" gives 0 (caller skips it). */
static tc_status resolve_input(const char *path, tf_graph *g, int node, const char *in, tf_input_ref *ref)
{
    const char *colon = strrchr(in, ':');
    size_t len = strlen(in);
    long k = 0;
    if (colon) {
        char *end;
        k = strtol(colon + 1, &end, 10);
        if (*end || end == colon + 1 || k < 0) colon = NULL, k = 0; /* a ':' inside the name */
        else len = (size_t)(colon - in);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const char *name = g->def->node[i]->name;
        if (strlen(name) == len && !strncmp(name, in, len)) {
            ref->node = i;
            ref->output = (int)k;
            return TC_OK;
        }
    }
    return tc_error(TC_ERR_FORMAT, "%s: node '%s' reads '%s', which the graph does not have",
                    path, g->def->node[node]->name, in);
}

static tc_status resolve_and_order(const char *path, tf_graph *g)
{
    int n = g->n_nodes;
    g->order = malloc(sizeof(int) * (size_t)(n ? n : 1));
    g->inputs = calloc((size_t)(n ? n : 1), sizeof(*g->inputs));
    g->n_inputs = calloc((size_t)(n ? n : 1), sizeof(int));
    int *pending = calloc((size_t)(n ? n : 1), sizeof(int));
    if (!g->order || !g->inputs || !g->n_inputs || !pending) {
        free(pending);
        return tc_error(TC_ERR_MEMORY, "%s: out of memory for %d nodes", path, n);
    }
    tc_status st = TC_OK;
    for (int i = 0; i < n && st == TC_OK; i++) {
        const Tctf__NodeDef *d = g->def->node[i];
        if (!d->name || !d->name[0] || !d->op || !d->op[0]) {
            st = tc_error(TC_ERR_FORMAT, "%s: node %d has no name or no op", path, i);
            break;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(g->def->node[j]->name, d->name)) {
                st = tc_error(TC_ERR_FORMAT, "%s: two nodes are called '%s'", path, d->name);
                break;
            }
        g->inputs[i] = malloc(sizeof(tf_input_ref) * (d->n_input ? d->n_input : 1));
        if (!g->inputs[i]) { st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path); break; }
        for (size_t k = 0; k < d->n_input && st == TC_OK; k++) {
            const char *in = d->input[k] ? d->input[k] : "";
            tf_input_ref ref;
            /* Control edges order execution only; a frozen graph needs them for nothing
             * we compute, but they still must name a node and take part in the cycle check. */
            int control = in[0] == '^';
            st = resolve_input(path, g, i, in + control, &ref);
            ref.control = control;
            if (st == TC_OK) g->inputs[i][g->n_inputs[i]++] = ref, pending[i]++;
        }
    }
    /* Kahn's algorithm over a consumer list (CSR), O(nodes + edges): fuzzed
     * inputs may hold many nodes, so no quadratic scans here. */
    int *start = NULL, *consumers = NULL, *queue = NULL;
    char *done = NULL;
    if (st == TC_OK) {
        start = calloc((size_t)n + 1, sizeof(int));
        size_t edges = 0;
        for (int i = 0; i < n; i++) edges += (size_t)g->n_inputs[i];
        consumers = malloc(sizeof(int) * (edges ? edges : 1));
        queue = malloc(sizeof(int) * (size_t)(n ? n : 1));
        done = calloc((size_t)(n ? n : 1), 1);
        if (!start || !consumers || !queue || !done) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
    }
    if (st == TC_OK) {
        for (int i = 0; i < n; i++)
            for (int k = 0; k < g->n_inputs[i]; k++) start[g->inputs[i][k].node + 1]++;
        for (int i = 0; i < n; i++) start[i + 1] += start[i];
        int *fill = calloc((size_t)(n ? n : 1), sizeof(int));
        if (!fill) st = tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
        for (int i = 0; i < n && fill; i++)
            for (int k = 0; k < g->n_inputs[i]; k++) {
                int p = g->inputs[i][k].node;
                consumers[start[p] + fill[p]++] = i;
            }
        free(fill);
    }
    if (st == TC_OK) {
        int head = 0, tail = 0, placed = 0;
        for (int i = 0; i < n; i++)
            if (!pending[i]) queue[tail++] = i;
        while (head < tail) {
            int i = queue[head++];
            done[i] = 1;
            g->order[placed++] = i;
            for (int c = start[i]; c < start[i + 1]; c++)
                if (--pending[consumers[c]] == 0) queue[tail++] = consumers[c];
        }
        for (int i = 0; i < n && placed < n; i++)
            if (!done[i]) {
                st = tc_error(TC_ERR_FORMAT, "%s: the graph has a cycle through node '%s'", path,
                              g->def->node[i]->name);
                break;
            }
    }
    free(start);
    free(consumers);
    free(queue);
    free(done);
    free(pending);
    return st;
}

tc_status tc_tf_graph_read_memory(const void *data, size_t size, const char *path, tf_graph **out)
{
    *out = NULL;
    tf_graph *g = calloc(1, sizeof(*g));
    if (!g) return tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
    g->def = tctf__graph_def__unpack(NULL, size, data);
    if (!g->def) {
        free(g);
        return tc_error(TC_ERR_FORMAT, "%s: not a TensorFlow GraphDef (truncated or corrupt protobuf)", path);
    }
    if (g->def->n_node > 1000000) {
        tc_tf_graph_free(g);
        return tc_error(TC_ERR_FORMAT, "%s: %zu nodes is more than a graph can have here", path, g->def->n_node);
    }
    g->n_nodes = (int)g->def->n_node;
    tc_status st = resolve_and_order(path, g);
    if (st != TC_OK) {
        tc_tf_graph_free(g);
        return st;
    }
    *out = g;
    return TC_OK;
}

tc_status tc_tf_graph_read(const char *path, tf_graph **out)
{
    *out = NULL;
    unsigned char *data;
    size_t size;
    tc_status st = tc_read_file(path, TF_MAX_FILE, &data, &size);
    if (st != TC_OK) return st;
    st = tc_tf_graph_read_memory(data, size, path, out);
    free(data);
    return st;
}
