/* The report of `tensorcook onnx run --profile`: per operator type and for
 * the slowest nodes, time per run, share of the run and, for the products
 * (Conv, ConvTranspose, Gemm, MatMul), GFLOP/s, from the library's per-node
 * totals (tc_onnx_node_profile_of). */
#include "onnx_profile.h"

#include <stdlib.h>
#include <string.h>

#define TOP_NODES 15 /* TENSORCOOK_PROFILE_TOP=N lists N instead */

typedef struct {
    const char *op;
    int nodes;
    double seconds, cpu_seconds, flops;
} op_total;

static int slower_first(double x, double y) { return x < y ? 1 : x > y ? -1 : 0; }

static const tc_onnx_model *sort_model; /* qsort has no context argument */
static int node_cmp(const void *a, const void *b)
{
    return slower_first(tc_onnx_node_profile_of(sort_model, *(const int *)a).seconds,
                        tc_onnx_node_profile_of(sort_model, *(const int *)b).seconds);
}

static int op_cmp(const void *a, const void *b)
{
    return slower_first(((const op_total *)a)->seconds, ((const op_total *)b)->seconds);
}

static void rate(FILE *f, double flops, double seconds)
{
    if (flops > 0 && seconds > 0) fprintf(f, " %8.1f", flops / seconds * 1e-9);
    else fprintf(f, " %8s", "-");
}

void onnx_print_profile(const tc_onnx_model *m, int runs, FILE *f)
{
    const int n = tc_onnx_node_count(m);
    op_total *ops = calloc((size_t)n + 1, sizeof *ops);
    int *order = malloc(sizeof *order * ((size_t)n + 1));
    if (!ops || !order) {
        fprintf(f, "profile: out of memory for the report\n");
        free(ops);
        free(order);
        return;
    }
    int n_ops = 0, ran = 0;
    double total = 0, total_cpu = 0, flops = 0, flop_seconds = 0;
    for (int i = 0; i < n; i++) {
        const tc_onnx_node_profile p = tc_onnx_node_profile_of(m, i);
        if (!p.runs) continue;
        order[ran++] = i;
        total += p.seconds, total_cpu += p.cpu_seconds;
        if (p.flops > 0) flops += p.flops, flop_seconds += p.seconds;
        const char *op = tc_onnx_node_op(m, i);
        int k = 0;
        while (k < n_ops && strcmp(ops[k].op, op)) k++;
        if (k == n_ops) ops[n_ops++] = (op_total){op, 0, 0, 0, 0};
        ops[k].nodes++, ops[k].seconds += p.seconds, ops[k].cpu_seconds += p.cpu_seconds, ops[k].flops += p.flops;
    }
    const double per = runs > 0 ? 1e3 / runs : 0;
    fprintf(f, "profile: %d run(s) after a warm-up: %.2f ms per run in %d nodes (%.2f ms CPU); products %.1f GFLOP/s\n",
            runs, total * per, ran, total_cpu * per, flop_seconds > 0 ? flops / flop_seconds * 1e-9 : 0);
    qsort(ops, (size_t)n_ops, sizeof *ops, op_cmp);
    /* CPU ms: all threads' CPU time in the node (on a loaded machine, where
     * wall time counts other processes' turns, the figure to compare) */
    fprintf(f, "%-24s %6s %10s %7s %8s %10s\n", "operator", "nodes", "ms/run", "share", "GFLOP/s", "CPU ms");
    for (int k = 0; k < n_ops; k++) {
        fprintf(f, "%-24s %6d %10.3f %6.1f%%", ops[k].op, ops[k].nodes, ops[k].seconds * per,
                total > 0 ? 100 * ops[k].seconds / total : 0);
        rate(f, ops[k].flops, ops[k].seconds);
        fprintf(f, " %10.3f", ops[k].cpu_seconds * per);
        fputc('\n', f);
    }
    sort_model = m;
    qsort(order, (size_t)ran, sizeof *order, node_cmp);
    const char *top_env = getenv("TENSORCOOK_PROFILE_TOP");
    const int top = top_env && atoi(top_env) > 0 ? atoi(top_env) : TOP_NODES;
    fprintf(f, "slowest nodes:\n");
    for (int r = 0; r < ran && r < top; r++) {
        const int i = order[r];
        const tc_onnx_node_profile p = tc_onnx_node_profile_of(m, i);
        const char *name = tc_onnx_node_name(m, i);
        fprintf(f, "  %-14s %-40.40s %10.3f %6.1f%%", tc_onnx_node_op(m, i), name[0] ? name : "(unnamed)",
                p.seconds * per, total > 0 ? 100 * p.seconds / total : 0);
        rate(f, p.flops, p.seconds);
        fprintf(f, " %10.3f", p.cpu_seconds * per);
        fputc('\n', f);
    }
    free(ops);
    free(order);
}
