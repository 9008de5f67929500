/* ONNX import: load a model (opsets 7 to 17), inspect it, run it.
 *
 * An imported graph runs as ordinary tensorcook operations, so gradients flow
 * through it (fine-tuning, gradients with respect to the input). Tensors at
 * the model's boundary are in ONNX's own layout (NCHW for images); the
 * importer converts to tensorcook's channels-last kernels inside. */
#ifndef TENSORCOOK_ONNX_H
#define TENSORCOOK_ONNX_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_onnx_model tc_onnx_model;

/* Element types at the model boundary. INT64 values travel as tensors of
 * whole numbers (exact up to 2^24 in float32; larger ones are rounded). */
typedef enum { TC_ONNX_FLOAT = 1, TC_ONNX_INT64 = 7 } tc_onnx_dtype;

/* Parses and checks a model: a truncated or malformed file, an unsupported
 * opset or data type, an initializer whose data does not match its shape,
 * external data outside its file, a node input that nothing defines, or a
 * cycle each give an error naming the file and the node or tensor. */
tc_onnx_model *tc_onnx_load(const char *path);
/* The same from bytes in memory; name is used in messages and as the base
 * for external data paths. */
tc_onnx_model *tc_onnx_load_memory(const void *data, size_t len, const char *name);
void tc_onnx_free(tc_onnx_model *m);

int tc_onnx_input_count(const tc_onnx_model *m);   /* graph inputs that are not initializers */
int tc_onnx_output_count(const tc_onnx_model *m);
const char *tc_onnx_input_name(const tc_onnx_model *m, int i);
const char *tc_onnx_output_name(const tc_onnx_model *m, int i);
/* Declared shape of an input/output: fills dims (-1 where symbolic), returns the rank or -1. */
int tc_onnx_input_shape(const tc_onnx_model *m, int i, int64_t dims[TC_MAX_DIMS]);
int tc_onnx_output_shape(const tc_onnx_model *m, int i, int64_t dims[TC_MAX_DIMS]);
tc_onnx_dtype tc_onnx_input_dtype(const tc_onnx_model *m, int i);
tc_onnx_dtype tc_onnx_output_dtype(const tc_onnx_model *m, int i);
int64_t tc_onnx_opset(const tc_onnx_model *m);
int tc_onnx_node_count(const tc_onnx_model *m);
const char *tc_onnx_node_op(const tc_onnx_model *m, int i);
/* Whether node i's operator (with its domain) has a translation: a model with
 * an unsupported node loads (to be inspected) but fails when it runs. */
bool tc_onnx_node_supported(const tc_onnx_model *m, int i);
/* The nodes that will not run, found before running: in the graph and in
 * its subgraphs (If/Loop/Scan bodies), an operator without a translation or
 * attributes its translation refuses. Returns how many; for 0 <= k < that,
 * writes a one-line description of the k-th into buf ("Foo node 'x':
 * operator 'Foo' is not supported", prefixed by the enclosing node and body
 * for a subgraph's node). */
int tc_onnx_unsupported(const tc_onnx_model *m, int k, char *buf, size_t size);
/* The operators of the default domain the importer translates, in its
 * table's order: the i-th name, or NULL past the end. */
const char *tc_onnx_supported_op(int i);
/* Total number of values in float initializers (the parameters). */
int64_t tc_onnx_param_count(const tc_onnx_model *m);
/* The initializers as long-lived tensors (ONNX layout), e.g. to fine-tune:
 * mark them with tc_set_requires_grad and give them to an optimizer. */
int tc_onnx_initializer_count(const tc_onnx_model *m);
tc_tensor *tc_onnx_initializer(const tc_onnx_model *m, int i, const char **name);

/* Per-node timing, off by default. While on, each tc_onnx_run of m adds, per
 * node of the top-level graph, its wall and process CPU seconds (a fused
 * Conv holds the time of the nodes it absorbed; an If/Loop/Scan node its
 * bodies') and, for Conv, ConvTranspose, Gemm and MatMul, its
 * multiply-add FLOPs (2 per multiply-add); switching it on clears the
 * totals. tc_onnx_node_profile gives node i's totals (runs 0: it never
 * ran); tc_onnx_node_name its name ("" when it has none). */
typedef struct {
    double seconds, cpu_seconds, flops;
    int64_t runs;
} tc_onnx_node_profile;
tc_status tc_onnx_set_profiling(tc_onnx_model *m, bool on);
/* Chains of Convs that tc_onnx_prepare_inference planned to run image by
 * image at batches > 1 or in row bands (src/io/onnx_block.c), and how many
 * times one did */
int tc_onnx_block_count(const tc_onnx_model *m);
int64_t tc_onnx_block_runs(const tc_onnx_model *m);
/* of those, the runs in row bands within each image */
int64_t tc_onnx_block_banded_runs(const tc_onnx_model *m);
/* Fork/join regions whose branches run at the same time on 2 threads, one
 * thread each (src/io/onnx_branches.c; planned at the first run for the
 * inputs' shapes, TENSORCOOK_ONNX_INTEROP=0 never), and how many times one did */
int tc_onnx_interop_count(const tc_onnx_model *m);
int64_t tc_onnx_interop_runs(const tc_onnx_model *m);
tc_onnx_node_profile tc_onnx_node_profile_of(const tc_onnx_model *m, int i);
const char *tc_onnx_node_name(const tc_onnx_model *m, int i);

/* Runs the graph. inputs/outputs in graph order; outputs are step tensors. */
tc_status tc_onnx_run(tc_onnx_model *m, int n_inputs, tc_tensor *const *inputs, int n_outputs,
                      tc_tensor **outputs);

/* Rewrites a loaded model for inference: each BatchNormalization after a
 * Conv (whose output only it reads) is folded into the Conv's kernel and
 * bias, and a Relu, a Clip with constant bounds, or an Add of an earlier
 * value (a residual) optionally followed by one of those, after a Conv,
 * becomes the Conv's fused epilogue (tc_conv_params.act / .residual). The
 * epilogue runs only when no gradient is being recorded (else those nodes
 * run as they are); the folding is for good, so fine-tuning afterwards
 * would not train the folded BatchNormalization parameters. Outputs match
 * the unrewritten model to float rounding (the folded kernel is rounded
 * once). n_folded / n_fused (may be NULL) receive the counts. */
tc_status tc_onnx_prepare_inference(tc_onnx_model *m, int *n_folded, int *n_fused);
/* Reduced-precision inference, opt-in (default TC_PRECISION_FP32): the
 * constant kernels of Conv (but depthwise and thin-input ones), Gemm and
 * MatMul are stored as bfloat16, or as int8 with one scale per output
 * channel (activations quantised per row), when they are first used without
 * a gradient. Set it before the first run; an error after one (the packs
 * are made). */
tc_status tc_onnx_set_precision(tc_onnx_model *m, tc_precision p);
/* TensorProto files (the backend-test input_N.pb / output_N.pb). */
tc_tensor *tc_onnx_read_tensor_file(const char *path, tc_onnx_dtype *dtype, char **name);
tc_status tc_onnx_write_tensor_file(const char *path, const tc_tensor *t, tc_onnx_dtype dtype,
                                    const char *name);

/* ---- export -------------------------------------------------------------
 * Writes a model built with the layer API (nn.h) as an ONNX ModelProto of
 * the given opset (13 to 17), atomically: every layer of nn/ translates
 * (docs/onnx.md lists them); a layer that does not (a recurrent layer,
 * attention or GlobalAveragePooling1D reading a mask, a SimpleRNN with a
 * softmax) is a one-line error naming it, and no file is written. Inputs and outputs of
 * rank 4 and 5 are channels-first (NCHW / NCDHW), others in tensorcook's
 * layout; the batch axis is symbolic; inputs read by Embedding (or an RNN
 * with input_vocab) are int64. */
typedef struct tc_model tc_model;
tc_status tc_onnx_export(const tc_model *m, const char *path, int opset);
/* A value in an exported file's layout (to_file) or back in tensorcook's:
 * rank 4 and 5 transposed between channels-last and channels-first (a
 * contiguous step tensor), any other rank returned as it is. */
tc_tensor *tc_onnx_export_layout(tc_tensor *x, bool to_file);

#ifdef __cplusplus
}
#endif
#endif
