/* The ONNX interpreter's context and the helpers its op translations share
 * (the one home of the OP / PREP / NEED helpers).
 * Values stay in ONNX's logical layout (NCHW); ops that need channels-last
 * take a transposed view (free when the value came from a channels-last op). */
#ifndef TC_ONNX_RUN_H
#define TC_ONNX_RUN_H

#include "onnx_internal.h"

typedef struct {
    tc_onnx_model *m;
    const onnx_node *node;
    const char *label;                 /* "Conv node 'x'" for messages */
    tc_onnx_dtype *in_dtype;           /* n_in entries */
    tc_onnx_dtype *out_dtype;          /* n_out entries */
    tc_tensor **val;                   /* every value of the running graph (what subgraphs capture) */
    tc_onnx_dtype *dt;
    /* a Conv's fused epilogue (onnx_fuse.c): op_conv applies it when it can
     * (no gradient to record, residual of the output's shape) and sets fused */
    const onnx_fusion *fusion;
    tc_tensor *residual;
    bool fused;
    /* a row band of a Conv chain (onnx_block.c): op_conv takes these as the
     * explicit padding above and below instead of the node's own */
    bool band;
    int64_t band_pad[2];
} onnx_ctx;

/* Computes out[0 .. n_out) from in[0 .. n_in) (NULL: omitted optional input).
 * Sets ctx->out_dtype for integer results. Returns a status with a message.
 * In inference the step memory a translation allocates and its outputs do
 * not occupy (their structs and elements) is reused once it returns
 * (onnx_live.c): nothing else may keep pointers into it (a cache that
 * outlives the node belongs in malloc'd memory, as the Conv packs are). */
typedef tc_status (*onnx_op_fn)(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out,
                                tc_tensor **out);
/* Run once at load: parses the node's attributes into n->attrs (and
 * n->free_attrs when it is more than one malloc'd block). A failure is kept
 * and reported when the node runs. */
typedef tc_status (*onnx_prep_fn)(tc_onnx_model *m, onnx_node *n);

typedef struct onnx_op_entry {
    const char *op_type;
    onnx_op_fn fn;
    onnx_prep_fn prep; /* NULL: the translation reads its attributes itself */
} onnx_op_entry;

#define OP(name) \
    static tc_status name(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
#define PREP(name) static tc_status name(tc_onnx_model *m, onnx_node *n)

/* The node's prepared attributes as a struct of type T (allocated by
 * tc_onnx_attrs_new in its PREP function). */
#define ATTRS(T) ((const T *)n->attrs)
void *tc_onnx_attrs_new(onnx_node *n, size_t size);
#define ATTRS_NEW(T) ((T *)tc_onnx_attrs_new(n, sizeof(T)))

/* The translation tables of each family (NULL-terminated). */
extern const onnx_op_entry tc_onnx_ops_math[];
extern const onnx_op_entry tc_onnx_ops_shape[];
extern const onnx_op_entry tc_onnx_ops_nn[];
extern const onnx_op_entry tc_onnx_ops_rnn[];
extern const onnx_op_entry tc_onnx_ops_logic[];
extern const onnx_op_entry tc_onnx_ops_index[];
extern const onnx_op_entry tc_onnx_ops_more[];
extern const onnx_op_entry tc_onnx_ops_quant[];
extern const onnx_op_entry tc_onnx_ops_control[];

/* Quantised values (onnx_ops_quant.c): the range of input i's element type
 * (a zero point; uint8 unless declared int8/int32), and rounding half to
 * even with saturation. */
void tc_onnx_quant_range(onnx_ctx *c, int i, double *lo, double *hi);
double tc_onnx_saturate(double v, double lo, double hi);

/* Failure of the current node: the message starts with the node's label. */
tc_status tc_onnx_fail(onnx_ctx *c, tc_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Failure while preparing node n at load. */
tc_status tc_onnx_prep_fail(const onnx_node *n, tc_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Wraps a library result: NULL becomes a failure naming the node. */
tc_status tc_onnx_check(onnx_ctx *c, tc_tensor *t);
#define ONNX_TRY(c, expr)                              \
    do {                                               \
        if (tc_onnx_check((c), (expr)) != TC_OK) return tc_last_status(); \
    } while (0)

/* The first k inputs must be present. */
tc_status tc_onnx_need(onnx_ctx *c, int n_in, tc_tensor **in, int k);
#define NEED(k)                                             \
    do {                                                    \
        tc_status s_ = tc_onnx_need(c, n_in, in, (k));      \
        if (s_ != TC_OK) return s_;                         \
    } while (0)

/* Integers held by a tensor (shape inputs, axes, ...); returns the count or -1. */
int tc_onnx_ints(onnx_ctx *c, const tc_tensor *t, int64_t *out, int max, const char *what);
/* Axis normalised against rank, or -1 after failing the node. */
int tc_onnx_axis(onnx_ctx *c, int64_t axis, int rank);
/* Channels-first <-> channels-last views for ranks >= 3. */
tc_tensor *tc_onnx_to_cl(tc_tensor *x);
tc_tensor *tc_onnx_from_cl(tc_tensor *y);
/* Applies a unary function on the layout x already has (no copy for a
 * permuted view), returning the result in x's logical layout. */
tc_tensor *tc_onnx_unary(tc_tensor *x, tc_tensor *(*fn)(tc_tensor *, void *), void *arg);
/* Same for two operands of one shape and layout; else NULL (caller falls back). */
tc_tensor *tc_onnx_binary_same_layout(tc_tensor *a, tc_tensor *b, tc_tensor *(*fn)(tc_tensor *, tc_tensor *));

/* Whether a result computed from xs must be recorded (grad mode on and some
 * input requires a gradient): translations that compute a differentiable
 * value with a kernel of their own use it only when this is false, and
 * compose tensorcook ops (which have backwards) otherwise. */
bool tc_onnx_wants_grad(int n, tc_tensor *const *xs);
/* out[j] = (the concatenation of srcs, each flattened)[idx[j]]: a gather, so
 * exact and differentiable for every source. idx holds n_idx flat indices;
 * the result has the given shape. */
tc_tensor *tc_onnx_pick(onnx_ctx *c, int n_src, tc_tensor *const *srcs, const int64_t *idx, int ndim,
                        const int64_t *shape);
/* NumPy broadcast shape of n tensors; rank or -1 after failing the node. */
int tc_onnx_broadcast_shape(onnx_ctx *c, int n, tc_tensor *const *xs, int64_t *shape);
/* A step tensor of the given values (integers or floats) and shape. */
tc_tensor *tc_onnx_from_int64(int ndim, const int64_t *shape, const int64_t *v);
/* Row-major strides of a shape (elements). */
void tc_onnx_strides(int ndim, const int64_t *shape, int64_t *strides);

/* An AveragePool node with explicit zero pads takes over the zero padding
 * of a constant Pad before it (onnx_fuse.c): pads before/after per spatial
 * axis become its own, counted in the divisor (count_include_pad), which
 * gives the same values (the padded cells only added +0 to each sum).
 * False, and n unchanged, when n's attributes do not allow it. */
bool tc_onnx_avg_pool_take_pads(onnx_node *n, int nsp, const int64_t *before, const int64_t *after);

/* A Constant node's value, decoded at load, handed over (the node cannot
 * run any more: onnx_fold_const.c skips it); NULL if it has none. */
tc_tensor *tc_onnx_constant_take(onnx_node *n, tc_onnx_dtype *dtype);

/* Folds the Constant and Identity nodes away (onnx_fold_const.c, the first
 * step of tc_onnx_prepare_inference); how many. */
int tc_onnx_fold_constants(tc_onnx_model *m);

/* Resize and Upsample (onnx_resize.c), listed in the nn table. */
tc_status tc_onnx_op_resize(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
tc_status tc_onnx_op_upsample(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
tc_status tc_onnx_prep_resize(tc_onnx_model *m, onnx_node *n);
tc_status tc_onnx_prep_upsample(tc_onnx_model *m, onnx_node *n);
/* ConvTranspose (onnx_conv_transpose.c) and Einsum (onnx_einsum.c), listed in the "more" table. */
tc_status tc_onnx_op_conv_transpose(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
tc_status tc_onnx_prep_conv_transpose(tc_onnx_model *m, onnx_node *n);
tc_status tc_onnx_op_einsum(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
tc_status tc_onnx_prep_einsum(tc_onnx_model *m, onnx_node *n);
tc_status tc_onnx_op_grid_sample(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
tc_status tc_onnx_prep_grid_sample(tc_onnx_model *m, onnx_node *n);
tc_status tc_onnx_op_roi_align(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
tc_status tc_onnx_prep_roi_align(tc_onnx_model *m, onnx_node *n);
tc_status tc_onnx_op_max_roi_pool(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
/* DFT, STFT, MelWeightMatrix (onnx_spectral.c) */
tc_status tc_onnx_op_dft(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
tc_status tc_onnx_op_stft(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
tc_status tc_onnx_prep_dft(tc_onnx_model *m, onnx_node *n);
tc_status tc_onnx_op_mel_weight_matrix(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);

#endif
