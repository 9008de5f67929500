/* The ONNX interpreter's context and the helpers its op translations share.
 * Values stay in ONNX's logical layout (NCHW); ops that need channels-last
 * take a transposed view (free when the value came from a channels-last op). */
#ifndef TC_ONNX_RUN_H
#define TC_ONNX_RUN_H

#include "onnx_internal.h"

#define ONNX_MAX_IO 16

typedef struct {
    tc_onnx_model *m;
    const onnx_node *node;
    char label[256];                   /* "Conv node 'x'" for messages */
    tc_onnx_dtype in_dtype[ONNX_MAX_IO];
    tc_onnx_dtype out_dtype[ONNX_MAX_IO];
} onnx_ctx;

/* Computes out[0 .. n_out) from in[0 .. n_in) (NULL: omitted optional input).
 * Sets ctx->out_dtype for integer results. Returns a status with a message. */
typedef tc_status (*onnx_op_fn)(onnx_ctx *c, const Onnx__NodeProto *n, int n_in, tc_tensor **in, int n_out,
                                tc_tensor **out);

typedef struct {
    const char *op_type;
    onnx_op_fn fn;
} onnx_op_entry;

/* The translation tables of each family (NULL-terminated). */
extern const onnx_op_entry tc_onnx_ops_math[];
extern const onnx_op_entry tc_onnx_ops_shape[];
extern const onnx_op_entry tc_onnx_ops_nn[];
extern const onnx_op_entry tc_onnx_ops_rnn[];

/* Failure of the current node: the message starts with the node's label. */
tc_status tc_onnx_fail(onnx_ctx *c, tc_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Wraps a library result: NULL becomes a failure naming the node. */
tc_status tc_onnx_check(onnx_ctx *c, tc_tensor *t);
#define ONNX_TRY(c, expr)                              \
    do {                                               \
        if (tc_onnx_check((c), (expr)) != TC_OK) return tc_last_status(); \
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

#endif
