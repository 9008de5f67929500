/* tensorcook operations. Each one checks its arguments, computes its result
 * into the step arena, and (when an input requires a gradient and grad mode
 * is on) records itself on the tape with everything its backward needs.
 *
 * On bad input an operation returns NULL and tc_last_error() names the
 * operation and the shapes involved. Every operation accepts NULL inputs
 * (and fails cleanly), so calls can be chained: an error propagates.
 *
 * Integer-valued inputs (class labels, embedding indices) are tensors whose
 * values are whole numbers; float32 represents them exactly up to 2^24.
 */
#ifndef TENSORCOOK_OPS_H
#define TENSORCOOK_OPS_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- element-wise arithmetic (NumPy broadcasting) ------------------------ */
tc_tensor *tc_add(tc_tensor *a, tc_tensor *b);
tc_tensor *tc_sub(tc_tensor *a, tc_tensor *b);
tc_tensor *tc_mul(tc_tensor *a, tc_tensor *b);
tc_tensor *tc_div(tc_tensor *a, tc_tensor *b);
tc_tensor *tc_pow(tc_tensor *a, tc_tensor *b);       /* a > 0 where b is not whole */
tc_tensor *tc_maximum(tc_tensor *a, tc_tensor *b);   /* ties: gradient to a */
tc_tensor *tc_minimum(tc_tensor *a, tc_tensor *b);
tc_tensor *tc_add_scalar(tc_tensor *a, tc_scalar s);
tc_tensor *tc_mul_scalar(tc_tensor *a, tc_scalar s);
tc_tensor *tc_pow_scalar(tc_tensor *a, tc_scalar p);
tc_tensor *tc_exp(tc_tensor *x);
tc_tensor *tc_log(tc_tensor *x);
tc_tensor *tc_sqrt(tc_tensor *x);
tc_tensor *tc_abs(tc_tensor *x);
tc_tensor *tc_neg(tc_tensor *x);
tc_tensor *tc_square(tc_tensor *x);
tc_tensor *tc_clip(tc_tensor *x, tc_scalar lo, tc_scalar hi); /* gradient 1 inside [lo, hi] */
/* The libm functions without an op of their own (src/ops/math_fn.c), with
 * their derivatives: sin, cos, tan, their inverses, the hyperbolic ones and
 * their inverses, erf. */
typedef enum {
    TC_FN_SIN, TC_FN_COS, TC_FN_TAN, TC_FN_ASIN, TC_FN_ACOS, TC_FN_ATAN,
    TC_FN_SINH, TC_FN_COSH, TC_FN_ASINH, TC_FN_ACOSH, TC_FN_ATANH, TC_FN_ERF
} tc_math_fn_kind;
tc_tensor *tc_math_fn(tc_tensor *x, tc_math_fn_kind fn);

/* ---- activations ------------------------------------------------------------ */
tc_tensor *tc_relu(tc_tensor *x);
tc_tensor *tc_leaky_relu(tc_tensor *x, tc_scalar alpha);
tc_tensor *tc_elu(tc_tensor *x, tc_scalar alpha);
tc_tensor *tc_tanh(tc_tensor *x);
tc_tensor *tc_sigmoid(tc_tensor *x);
tc_tensor *tc_hard_sigmoid(tc_tensor *x, tc_scalar alpha, tc_scalar beta); /* clip(alpha*x+beta, 0, 1) */
tc_tensor *tc_softplus(tc_tensor *x);
tc_tensor *tc_softmax(tc_tensor *x, int axis);      /* axis may be negative */
tc_tensor *tc_log_softmax(tc_tensor *x, int axis);

/* ---- reductions: axes may be negative; naxes 0 means every axis ---------- */
tc_tensor *tc_sum(tc_tensor *x, int naxes, const int *axes, bool keepdims);
tc_tensor *tc_mean(tc_tensor *x, int naxes, const int *axes, bool keepdims);
tc_tensor *tc_max(tc_tensor *x, int naxes, const int *axes, bool keepdims); /* gradient to the first maximum */
/* Index of the maximum along axis (first one, or last if select_last).
 * Not differentiable: the result never requires a gradient. */
tc_tensor *tc_argmax(tc_tensor *x, int axis, bool keepdims, bool select_last);

/* ---- matrix products ---------------------------------------------------------
 * tc_matmul: [m,k]@[k,n]; with more dimensions, a batch of products whose
 * leading dimensions broadcast; a 1-D operand is a vector as in NumPy. */
tc_tensor *tc_matmul(tc_tensor *a, tc_tensor *b);
/* Dense layer: x[..., in] @ w[in, out] (+ bias[out] when not NULL). */
tc_tensor *tc_linear(tc_tensor *x, tc_tensor *w, tc_tensor *bias);
/* Gram matrix: x viewed as [m, n] (n = its last dimension, m = the rest),
 * x^T x [n, n]. The same values as matmul(transpose(X), X) on the reshaped
 * x, without copying the transpose (neural style's F^T F). */
tc_tensor *tc_gram(tc_tensor *x);

/* ---- shapes and copies ------------------------------------------------------- */
/* One dimension may be -1 (inferred). A view when x is contiguous. */
tc_tensor *tc_reshape(tc_tensor *x, int ndim, const int64_t *shape);
tc_tensor *tc_flatten(tc_tensor *x, int axis); /* to 2-D: [prod(shape[:axis]), prod(rest)] */
tc_tensor *tc_transpose(tc_tensor *x, const int *perm); /* a view; perm has x->ndim entries */
tc_tensor *tc_contiguous(tc_tensor *x);  /* x itself when already contiguous */
tc_tensor *tc_concat(int n, tc_tensor *const *xs, int axis);
/* Split along axis into n parts of the given sizes (views). */
tc_status tc_split(tc_tensor *x, int axis, int n, const int64_t *sizes, tc_tensor **outs);
/* Per axis: start, end (exclusive) and step (non-zero; negative walks
 * backwards), clamped like Python slices. NULL steps means all 1. A view. */
tc_tensor *tc_slice(tc_tensor *x, const int64_t *starts, const int64_t *ends, const int64_t *steps);
/* Slice of one axis (a view): x[..., start:end, ...] */
tc_tensor *tc_narrow(tc_tensor *x, int axis, int64_t start, int64_t length);
typedef enum { TC_PAD_CONSTANT, TC_PAD_REFLECT, TC_PAD_EDGE } tc_pad_mode;
/* pads_before/pads_after: x->ndim entries each, >= 0. */
tc_tensor *tc_pad(tc_tensor *x, const int64_t *pads_before, const int64_t *pads_after,
                  tc_pad_mode mode, tc_scalar value);
tc_tensor *tc_tile(tc_tensor *x, const int64_t *repeats);     /* x->ndim entries */
tc_tensor *tc_expand(tc_tensor *x, int ndim, const int64_t *shape); /* broadcast to shape */
/* Rows of table along axis, chosen by integer-valued indices (negative
 * indices count from the end): result shape is
 * table.shape[:axis] + indices.shape + table.shape[axis+1:]. Embedding
 * lookup is tc_gather(table, ids, 0). Gradients go to table only. */
tc_tensor *tc_gather(tc_tensor *table, tc_tensor *indices, int axis);

/* ---- convolution ---------------------------------------------------------------
 * Inputs are channels-last: [N, W, C] (1-D), [N, H, W, C] (2-D),
 * [N, D, H, W, C] (3-D). Kernels are [k..., C/groups, F] (TensorFlow's
 * HWIO; a depthwise convolution with multiplier M is groups = C, F = C*M,
 * kernel [k..., 1, C*M] with output channel c*M+m reading input channel c).
 * Zero entries of stride and dilation mean 1. */
typedef enum {
    TC_VALID = 0,      /* no padding */
    TC_SAME,           /* TensorFlow SAME: out = ceil(in/stride); extra pad at the end */
    TC_SAME_LOWER,     /* ONNX SAME_LOWER: extra pad at the start */
    TC_EXPLICIT,       /* pad_before / pad_after */
    TC_CAUSAL          /* 1-D only: (k-1)*dilation zeros before, none after */
} tc_padding;

/* The activation of a fused epilogue (below). */
typedef enum {
    TC_CONV_ACT_NONE = 0,
    TC_CONV_RELU,          /* x > 0 ? x : 0, as tc_relu */
    TC_CONV_CLIP           /* clip(x, act_lo, act_hi), as tc_clip; ReLU6 is 0..6 */
} tc_conv_act;

typedef struct {
    int stride[3];
    int dilation[3];
    tc_padding padding;
    int64_t pad_before[3];
    int64_t pad_after[3];
    int groups;            /* 0 means 1 */
    /* Fused epilogue: y = act(conv(x) + bias + residual), applied to each
     * tile of the output while it is in cache, so conv + bias (+ residual
     * add) + activation writes its output once. Same bits as tc_conv,
     * tc_add and tc_relu / tc_clip one after the other. When a gradient
     * will be needed it runs as those separate ops (so training, its
     * gradients and tc_relu's guided modes are theirs). */
    tc_conv_act act;
    tc_scalar act_lo, act_hi; /* TC_CONV_CLIP's bounds */
    tc_tensor *residual;   /* NULL, or added before act: the output's shape */
    /* NULL, or the kernel's GEMM panels packed once (tc_conv_weights_prepare)
     * for inference: used when it was prepared from this very kernel (same
     * data, shape and groups) and the kernel does not require a gradient,
     * else ignored. Same bits as without, except that the default
     * TC_CONV_AUTO runs a 3x3 kernel of Winograd's shape with it as
     * Winograd (tc_conv_set_algorithm). */
    const struct tc_conv_weights *weights;
} tc_conv_params;

tc_tensor *tc_conv(tc_tensor *x, tc_tensor *kernel, tc_tensor *bias, const tc_conv_params *p);
/* A long-lived contiguous kernel [k..., C/groups, F] packed once into the
 * GEMM's own blocks (per group), so inference convolutions skip repacking
 * it on every call (9% of MobileNet-v2). The caller promises that the
 * kernel's values do not change while the object is in use (a model's
 * frozen weights); tc_conv does not use it for a kernel that requires a
 * gradient (training changes the values), for another tensor, or after a
 * change of instruction set. With Winograd or auto selected (tc_conv_set_algorithm)
 * a 3x3 kernel also keeps its Winograd transform, made at its first
 * Winograd call. Depthwise and thin-input kernels, and builds
 * without the packed GEMM, get an object that packs nothing. NULL (error
 * set): not contiguous, or out of memory. */
typedef struct tc_conv_weights tc_conv_weights;
tc_conv_weights *tc_conv_weights_prepare(const tc_tensor *kernel, int groups);
/* The same with the panels stored as bfloat16 or int8 (per-output-channel
 * scales; activations quantised per row as they are packed): reduced-
 * precision inference, opt-in. Depthwise and thin-input kernels stay
 * float. TC_PRECISION_FP32 is tc_conv_weights_prepare. */
tc_conv_weights *tc_conv_weights_prepare_prec(const tc_tensor *kernel, int groups, tc_precision prec);
void tc_conv_weights_free(tc_conv_weights *w);
/* The algorithm of the 2-D 3x3, stride-1, dilation-1, one-group
 * convolutions with at least 8 input and output channels and at least 40
 * 4x4 output tiles over the batch, or 128 output positions (8 full tiles)
 * with inference weights (tc_conv_params.weights), which then keep the transformed, packed
 * Winograd kernel, made at their first Winograd call and freed with them
 * (4x the kernel's size); others always run the direct path. Same bits
 * with or without the kept kernel.
 * TC_CONV_DIRECT: tiled im2col + GEMM. TC_CONV_WINOGRAD: Winograd
 * F(4x4, 3x3) for the output and the input gradient (the kernel gradient
 * stays direct): 4x fewer multiplications in its products, 1.2-2.5x
 * faster measured, errors ~1e-5 of the largest value instead of ~1e-6
 * (docs/perf.md, "Winograd F(4x4,3x3)"). TC_CONV_AUTO (the default):
 * Winograd only for float inference weights (tc_conv_params.weights of a
 * kernel that requires no gradient: imported ONNX models,
 * tc_model_prepare_inference) with the kernel kept, direct for everything
 * else (training, plain tc_conv calls, bf16/int8 weights), so those keep
 * the direct path's bits. Bit-identical for any thread count on each ISA.
 * The environment's TENSORCOOK_CONV=auto|winograd|direct gives the
 * starting value (read once); tc_conv_set_algorithm overrides it for the
 * process. Set it outside parallel regions; a change applies to the next
 * tc_conv (a recorded convolution's backward uses the choice of its
 * forward). tc_conv_winograd_runs: forward convolutions run by Winograd so
 * far in the process (which ran, for summaries). */
typedef enum { TC_CONV_DIRECT = 0, TC_CONV_WINOGRAD = 1, TC_CONV_AUTO = 2 } tc_conv_algorithm;
void tc_conv_set_algorithm(tc_conv_algorithm a);
tc_conv_algorithm tc_conv_get_algorithm(void);
int64_t tc_conv_winograd_runs(void);
const char *tc_conv_algorithm_name(tc_conv_algorithm a); /* "direct", "winograd", "auto" */
/* Output spatial size for one axis, or -1 if the window does not fit. */
int64_t tc_conv_out_size(int64_t in, int64_t k, int stride, int dilation, tc_padding padding,
                         int64_t pad_before, int64_t pad_after);

/* ---- pooling ------------------------------------------------------------------ */
typedef struct {
    int kernel[3];
    int stride[3];          /* 0 means the kernel size */
    int dilation[3];        /* max pooling only; 0 means 1 */
    tc_padding padding;     /* VALID, SAME, SAME_LOWER or EXPLICIT */
    int64_t pad_before[3];
    int64_t pad_after[3];
    bool ceil_mode;         /* output size rounds up (the last window may hang over) */
    bool count_include_pad; /* average pooling: divide by the full window */
} tc_pool_params;

tc_tensor *tc_max_pool(tc_tensor *x, const tc_pool_params *p);
tc_tensor *tc_avg_pool(tc_tensor *x, const tc_pool_params *p);
/* Over every spatial axis: [N, ..., C] -> [N, C] (or [N, 1.., C] with keepdims). */
tc_tensor *tc_global_avg_pool(tc_tensor *x, bool keepdims);
tc_tensor *tc_global_max_pool(tc_tensor *x, bool keepdims);

/* ---- normalisation, dropout, resizing ----------------------------------------- */
/* Batch normalisation over the last (channel) axis. In training, uses the
 * batch statistics and updates the running ones:
 * running = momentum*running + (1-momentum)*batch (Keras' convention;
 * variance unbiased in the running update like PyTorch). In inference, uses
 * the running statistics. gamma/beta may be NULL (scale 1, offset 0). */
tc_tensor *tc_batch_norm(tc_tensor *x, tc_tensor *gamma, tc_tensor *beta,
                         tc_tensor *running_mean, tc_tensor *running_var,
                         bool training, tc_scalar momentum, tc_scalar eps);
/* Local response normalisation across channels (last axis), ONNX/Caffe form:
 * y = x / (bias + alpha/size * sum_{window of size} x^2)^beta */
tc_tensor *tc_lrn(tc_tensor *x, int size, tc_scalar alpha, tc_scalar beta, tc_scalar bias);
/* Inverted dropout: zero with probability rate, scale the rest by
 * 1/(1-rate). Identity when !training or rate == 0. rng NULL: the default. */
tc_tensor *tc_dropout(tc_tensor *x, tc_scalar rate, bool training, tc_rng *rng);

typedef enum { TC_RESIZE_NEAREST, TC_RESIZE_LINEAR, TC_RESIZE_CUBIC /* tc_resize_axis only */ } tc_resize_mode;
typedef enum {
    TC_COORD_HALF_PIXEL = 0,      /* (o + 0.5) / scale - 0.5 */
    TC_COORD_PYTORCH_HALF_PIXEL,  /* as half pixel, but 0 when the output length is 1 */
    TC_COORD_ALIGN_CORNERS,       /* o * (in - 1) / (out - 1) */
    TC_COORD_ASYMMETRIC,          /* o / scale */
    TC_COORD_TF_HALF_PIXEL_FOR_NN, /* (o + 0.5) / scale */
    TC_COORD_TF_CROP_AND_RESIZE    /* inside a crop box (tc_resize_axis only) */
} tc_coord_mode;
typedef enum {
    TC_NEAREST_ROUND_PREFER_FLOOR = 0, TC_NEAREST_ROUND_PREFER_CEIL,
    TC_NEAREST_FLOOR, TC_NEAREST_CEIL
} tc_nearest_mode;
typedef struct {
    tc_resize_mode mode;
    tc_coord_mode coord;
    tc_nearest_mode nearest;
    double scale[3];        /* optional per spatial axis; 0: out/in */
} tc_resize_params;
/* Resize the spatial axes of a channels-last tensor to out_sizes (x->ndim-2 entries). */
tc_tensor *tc_resize(tc_tensor *x, const int64_t *out_sizes, const tc_resize_params *p);
/* One axis resized to `out` entries with every option of ONNX Resize (for
 * importers): scale is the coordinate scale; roi_lo/roi_hi the crop box of
 * TC_COORD_TF_CROP_AND_RESIZE (0 and 1 otherwise). */
typedef struct {
    tc_resize_mode mode;
    tc_coord_mode coord;
    tc_nearest_mode nearest;
    double cubic_a;          /* cubic coefficient (ONNX: -0.75) */
    bool exclude_outside;    /* cubic: drop taps outside the input, renormalise */
    double extrapolation;    /* crop-and-resize: value outside the input */
} tc_resize_axis_opts;
tc_tensor *tc_resize_axis(tc_tensor *x, int axis, int64_t out, double scale, const tc_resize_axis_opts *a,
                          double roi_lo, double roi_hi);
/* Bilinear 2-D resize of NHWC with half-pixel centres (TF2 / PyTorch align_corners=False). */
tc_tensor *tc_resize_bilinear(tc_tensor *x, int64_t out_h, int64_t out_w);

/* ---- losses ----------------------------------------------------------------------
 * Reductions: MEAN divides the (weighted) sum by the number of examples;
 * SUM returns the sum; WEIGHTED_MEAN divides by the sum of the weights (TF's
 * SUM_BY_NONZERO_WEIGHTS-like masked average; 0 when all weights are 0);
 * NONE returns one loss per example. */
typedef enum { TC_REDUCE_MEAN = 0, TC_REDUCE_SUM, TC_REDUCE_WEIGHTED_MEAN, TC_REDUCE_NONE } tc_reduction;
/* logits [..., C]; one-hot (or soft) labels of the same shape; weights [...] or NULL. */
tc_tensor *tc_softmax_cross_entropy(tc_tensor *logits, tc_tensor *labels, tc_tensor *weights,
                                    tc_reduction reduction);
/* logits [..., C]; labels [...] of class ids in [0, C). */
tc_tensor *tc_sparse_softmax_cross_entropy(tc_tensor *logits, tc_tensor *labels,
                                           tc_tensor *weights, tc_reduction reduction);
/* Element-wise sigmoid binary cross-entropy on logits (numerically stable). */
tc_tensor *tc_sigmoid_cross_entropy(tc_tensor *logits, tc_tensor *targets, tc_tensor *weights,
                                    tc_reduction reduction);
/* Mean squared error over all elements (MEAN), or their sum (SUM). */
tc_tensor *tc_mse(tc_tensor *pred, tc_tensor *target, tc_reduction reduction);
/* TensorFlow's l2_loss: sum(x^2) / 2. */
tc_tensor *tc_l2_loss(tc_tensor *x);

#ifdef __cplusplus
}
#endif
#endif
