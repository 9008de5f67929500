/* Inter-op parallelism of the ONNX interpreter (onnx_branches.c): at batch 1
 * on 2 threads, independent branches of a fork/join region run at the same
 * time, one thread each, every node with its 1-thread kernels. */
#ifndef TC_ONNX_BRANCHES_H
#define TC_ONNX_BRANCHES_H

#include "onnx_run.h"

/* One run's view of the plan: NULL when inter-op is off for this run (not 2
 * threads, TENSORCOOK_ONNX_INTEROP=0, a subgraph, no buffer reuse so maybe a
 * gradient to record, or no memory). Otherwise either recording (the plan
 * is missing or was made for other input shapes: this run goes node by node
 * and notes each node's cost, and tc_onnx_interop_end plans from them) or
 * running the plan. */
typedef struct onnx_interop onnx_interop;
onnx_interop *tc_onnx_interop_begin(tc_onnx_model *m, onnx_live *live, int n_inputs, tc_tensor *const *inputs);
/* Node k ran on inputs in, giving out: its cost is noted when recording. */
void tc_onnx_interop_note(onnx_interop *r, int k, int n_in, tc_tensor *const *in, tc_tensor *const *out);
/* The region that starts at node k, or -1. */
int tc_onnx_interop_region_at(const onnx_interop *r, int k);
/* Runs region g: its two node lists at once (the caller's thread and pool
 * worker 1), sets done[j] for each of its nodes (the run loop then only
 * passes them to tc_onnx_live_after). c: the run's context (val, dt); fused:
 * the run's per-node epilogue marks. */
tc_status tc_onnx_interop_run(onnx_interop *r, int g, const onnx_ctx *c, onnx_live *live, bool *fused, bool *done);
/* The run ended (ok: it succeeded): a recording run makes the plan. */
void tc_onnx_interop_end(onnx_interop *r, bool ok);
/* Frees m's plan (the graph was rewritten, or m is freed). */
void tc_onnx_interop_forget(tc_onnx_model *m);

/* Node k does not run: folded away, computed by the Conv it is absorbed
 * into, or by a chain (fused[k]). */
static inline bool tc_onnx_node_skipped(const tc_onnx_model *m, int k, const bool *fused)
{
    const onnx_node *nd = &m->nodes[k];
    return nd->skip || (nd->fused_into && fused[nd->fused_into - 1]) || fused[k];
}

/* Runs node k of the graph (onnx_run.c): the run loop's body, shared with
 * the regions. in/out: argument arrays as wide as the widest node; worker:
 * it runs on a pool worker inside a region (no buffer tracking, its scratch
 * goes back to that thread's arena); keep: 2 * (max_io + 1) spans for that,
 * non-NULL for every node of a region (where no Conv chain runs as one). */
tc_status tc_onnx_run_node(onnx_ctx *c, int k, onnx_live *live, bool *fused, tc_tensor **in, tc_tensor **out,
                           bool worker, tc_arena_span *keep);

#endif
