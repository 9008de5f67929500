/* TensorFlow frozen graphs (GraphDef .pb, TF1's tf.import_graph_def files
 * such as Google's inception5h): load, inspect, run.
 *
 * A loaded graph runs as ordinary tensorcook operations, so the tape
 * records it and gradients flow through it (to a fed input that requires a
 * gradient: DeepDream, saliency). Tensors are TensorFlow's own layout
 * (NHWC images, HWIO kernels), which is tensorcook's; integer tensors
 * (int32/int64 constants: shapes, axes, paddings) travel as float tensors of
 * whole numbers. Supported operators: docs/tf_graph.md. */
#ifndef TENSORCOOK_TF_GRAPH_H
#define TENSORCOOK_TF_GRAPH_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_tf_model tc_tf_model;

/* Reads and checks a graph: a truncated or corrupt file, a node input that
 * names no node, a cycle, an operator without a translation (the node and
 * the op named), a constant whose data does not match its shape each give
 * a one-line error naming the file. */
tc_tf_model *tc_tf_load(const char *path);
/* The same on bytes in memory; name labels the errors. */
tc_tf_model *tc_tf_load_memory(const void *data, size_t size, const char *name);
void tc_tf_free(tc_tf_model *m);

/* Nodes in file order. */
int tc_tf_node_count(const tc_tf_model *m);
const char *tc_tf_node_name(const tc_tf_model *m, int i);
const char *tc_tf_node_op(const tc_tf_model *m, int i);
/* Index of the node called name ("name", "name:0"), or -1. */
int tc_tf_find(const tc_tf_model *m, const char *name);
/* The Placeholder nodes: count, node index of the i-th, and its declared
 * shape (dims -1 where unknown; returns the rank, or -1 if unknown). */
int tc_tf_input_count(const tc_tf_model *m);
int tc_tf_input_node(const tc_tf_model *m, int i);
int tc_tf_input_shape(const tc_tf_model *m, int i, int64_t dims[TC_MAX_DIMS]);
/* Total number of values in float constants (the weights). */
int64_t tc_tf_param_count(const tc_tf_model *m);

/* Computes the fetched tensors ("node" or "node:0") from the fed ones
 * (usually Placeholders; any node may be fed, which replaces it). Only the
 * nodes the fetches depend on run. Fetches are step tensors (they live until
 * the step is released), on the tape when a feed requires a gradient. An
 * unfed Placeholder on the way, or a node that fails, is a one-line error
 * naming the node. */
tc_status tc_tf_run(tc_tf_model *m, int n_feeds, const char *const *feed_names, tc_tensor *const *feeds,
                    int n_fetches, const char *const *fetch_names, tc_tensor **fetches);

#ifdef __cplusplus
}
#endif
#endif
