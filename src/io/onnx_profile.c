/* Per-node timing of the ONNX interpreter (tc_onnx_set_profiling): which
 * nodes a model's time goes to, and for the products how close each runs
 * to the machine's peak, without an outside profiler. Off by default, and
 * then it costs the run loop one pointer test per node. */
#include "onnx_run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

tc_status tc_onnx_set_profiling(tc_onnx_model *m, bool on)
{
    if (!m) return tc_error(TC_ERR_ARG, "tc_onnx_set_profiling: no model");
    free(m->profile);
    m->profile = NULL;
    if (on && m->n_nodes > 0 && !(m->profile = calloc((size_t)m->n_nodes, sizeof *m->profile)))
        return tc_error(TC_ERR_MEMORY, "tc_onnx_set_profiling: out of memory");
    return TC_OK;
}

tc_onnx_node_profile tc_onnx_node_profile_of(const tc_onnx_model *m, int i)
{
    tc_onnx_node_profile none = {0};
    return m && m->profile && i >= 0 && i < m->n_nodes ? m->profile[i] : none;
}

const char *tc_onnx_node_name(const tc_onnx_model *m, int i)
{
    if (!m || i < 0 || i >= m->n_nodes) return NULL;
    const char *name = m->nodes[i].proto->name;
    return name ? name : "";
}

void tc_onnx_profile_clock(double *wall, double *cpu)
{
    struct timespec w, c;
    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    *wall = (double)w.tv_sec + (double)w.tv_nsec * 1e-9;
    *cpu = (double)c.tv_sec + (double)c.tv_nsec * 1e-9;
}

/* 2 x the multiply-adds of the products, from the shapes they ran with:
 * Conv / ConvTranspose: each output (Conv) or input (ConvTranspose) value
 * takes numel(W) / W's first axis multiply-adds (Cg x kernel taps; for
 * ConvTranspose W is [C, F/g, k...], so numel(W) / C per input value);
 * Gemm / MatMul: numel(Y) x K, K read from A (Gemm: numel(A) / Y's rows,
 * whatever transA says; MatMul: A's last axis, or its only one). */
double tc_onnx_node_flops(const onnx_node *nd, int n_in, tc_tensor *const *in, tc_tensor *const *out)
{
    const char *op = nd->proto->op_type;
    if (!op || n_in < 2 || !in[0] || !in[1] || !out[0]) return 0;
    const tc_tensor *a = in[0], *w = in[1], *y = out[0];
    if (!strcmp(op, "Conv") && w->ndim >= 3 && w->shape[0] > 0)
        return 2.0 * (double)tc_numel(y) * (double)(tc_numel(w) / w->shape[0]);
    if (!strcmp(op, "ConvTranspose") && w->ndim >= 3 && w->shape[0] > 0)
        return 2.0 * (double)tc_numel(a) * (double)(tc_numel(w) / w->shape[0]);
    if (!strcmp(op, "Gemm") && y->ndim == 2 && y->shape[0] > 0)
        return 2.0 * (double)tc_numel(y) * (double)(tc_numel(a) / y->shape[0]);
    if (!strcmp(op, "MatMul") && a->ndim >= 1) return 2.0 * (double)tc_numel(y) * (double)a->shape[a->ndim - 1];
    return 0;
}

void tc_onnx_profile_add(tc_onnx_model *m, int k, double wall0, double cpu0, int n_in, tc_tensor *const *in,
                         tc_tensor *const *out)
{
    double wall, cpu;
    tc_onnx_profile_clock(&wall, &cpu);
    tc_onnx_node_profile *p = &m->profile[k];
    p->seconds += wall - wall0;
    p->cpu_seconds += cpu - cpu0;
    p->flops += tc_onnx_node_flops(&m->nodes[k], n_in, in, out);
    p->runs++;
}
