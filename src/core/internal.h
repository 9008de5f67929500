/* Internal interface shared by the library's source files (not installed).
 *
 * How to write an operation (see src/ops/matmul.c for a complete one):
 *   1. add X(name) to the family's list in src/ops/<family>.def;
 *   2. write the public function: check arguments with the TC_CHECK_* macros
 *      (each error names the op and the shapes), make the result with
 *      tc_result(), run the forward kernel, then
 *        tc_node *n = tc_record(TC_OP_name, y, 2, (tc_tensor *[]){a, b}, sizeof(saved));
 *      which returns NULL when nothing needs a gradient (then save nothing);
 *   3. write `void tc_backward_name(tc_node *n, const tc_tensor *gy)`, which
 *      adds into tc_grad_for(input) for each input (NULL: input needs none).
 * An op listed in a .def file without its backward does not link.
 */
#ifndef TC_INTERNAL_H
#define TC_INTERNAL_H

#include "tensorcook/autograd.h"
#include "tensorcook/core.h"
#include "tensorcook/ops.h"

#include <string.h>

/* ---- the op table -------------------------------------------------------- */
#include "../ops/op_list.h"

#define TC_OP_ENUM(name) TC_OP_##name,
enum tc_op_id { TC_OP_none = 0, TC_OP_LIST(TC_OP_ENUM) TC_OP_COUNT };
#undef TC_OP_ENUM

#define TC_OP_DECLARE_BACKWARD(name) void tc_backward_##name(tc_node *n, const tc_tensor *gy);
TC_OP_LIST(TC_OP_DECLARE_BACKWARD)
#undef TC_OP_DECLARE_BACKWARD

struct tc_node {
    int op;               /* enum tc_op_id */
    int n_inputs;
    tc_tensor **inputs;   /* inputs at record time */
    tc_tensor *out;
    void *saved;          /* op-specific state, zeroed, in the arena */
    size_t index;         /* position on the tape */
};

/* ---- recording ------------------------------------------------------------ */
/* Records an op when grad mode is on and some input requires a gradient:
 * marks out as requiring one, links it to the node, and returns the node
 * (saved is a zeroed block of saved_bytes). Otherwise returns NULL. */
tc_node *tc_record(int op, tc_tensor *out, int n_inputs, tc_tensor *const *inputs,
                   size_t saved_bytes);
/* Whether an op with these inputs will be recorded (to skip saving work). */
bool tc_needs_grad(int n_inputs, tc_tensor *const *inputs);
/* Gradient buffer of t, created zeroed on first use; NULL if t needs none. */
tc_tensor *tc_grad_for(tc_tensor *t);

/* ---- results ---------------------------------------------------------------- */
/* A new contiguous step tensor (uninitialised). NULL + error on overflow. */
tc_tensor *tc_result(int ndim, const int64_t *shape);
/* A step tensor struct that views existing memory (no copy). */
tc_tensor *tc_view_of(tc_scalar *storage, int64_t offset, int ndim, const int64_t *shape,
                      const int64_t *strides);
void tc_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
int64_t tc_shape_numel(int ndim, const int64_t *shape);
/* Contiguous data of t: t->data itself, or a packed copy in the arena. */
const tc_scalar *tc_packed(const tc_tensor *t);
/* Normalise a possibly negative axis; -1 if out of range. */
int tc_axis(int axis, int ndim);
/* "[2, 3]" of a raw shape */
char *tc_dims_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* ---- argument checks: each returns NULL from the enclosing function --------- */
#define TC_CHECK_TENSOR(opname, t)                                                   \
    do {                                                                             \
        if (!(t)) {                                                                  \
            tc_error(TC_ERR_ARG, "%s: input '%s' is NULL", opname, #t);              \
            return NULL;                                                             \
        }                                                                            \
    } while (0)

#define TC_CHECK(cond, status, ...)                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            tc_error(status, __VA_ARGS__);                                           \
            return NULL;                                                             \
        }                                                                            \
    } while (0)

/* Shape strings for messages: TC_SHP(t) is a temporary "[a, b]" string. */
#define TC_SHP(t) tc_shape_str((t), (char[TC_SHAPE_STR_MAX]){0}, TC_SHAPE_STR_MAX)

/* dst (strides dst_strides) = or += src (strides src_strides), same shape. */
void tc_strided_apply(int ndim, const int64_t *shape, tc_scalar *dst, const int64_t *dst_strides,
                      const tc_scalar *src, const int64_t *src_strides, bool accumulate);

/* Accumulate n values: dst[i] += src[i]. */
void tc_accumulate(tc_scalar *dst, const tc_scalar *src, int64_t n);
/* grad->data += src (n values); nothing when the input needs no gradient (grad NULL). */
static inline void tc_accumulate_grad(tc_tensor *grad, const tc_scalar *src, int64_t n)
{
    if (grad) tc_accumulate(grad->data, src, n);
}

/* The fused LSTM cell (src/ops/rnn_cell.c): gates g [B, 4H] with gate k of
 * (i, f, c, o) in block order[k], previous cell c [B, H] -> [h' | c'] [B, 2H]. */
tc_tensor *tc_lstm_cell_fused(tc_tensor *g, tc_tensor *c, const int *order, tc_scalar forget_bias);
/* The whole sequence (src/ops/lstm_seq.c): xw [B, T, 4H] = x W + b, U [H, 4H],
 * peephole [3H] or NULL, h0, c0 [B, H] or NULL (zeros), mask [B, T] or NULL (a constant). Returns
 * [B*T + 2B, H]: the outputs (row b*T + t), the final h, the final c. */
tc_tensor *tc_lstm_seq_fused(tc_tensor *xw, tc_tensor *U, tc_tensor *peephole, tc_tensor *h0, tc_tensor *c0, tc_tensor *mask,
                             const int *order, tc_scalar forget_bias, bool reverse);
/* The GRU's (src/ops/gru_seq.c): xw [B, T, 3H] = x W + b_input, U [H, 3H],
 * br [3H] (recurrent bias, reset_after only) or NULL, h0 [B, H] or NULL,
 * mask [B, T] or NULL. Returns [B*T + B, H]: the outputs, then the final h. */
tc_tensor *tc_gru_seq_fused(tc_tensor *xw, tc_tensor *U, tc_tensor *br, tc_tensor *h0, tc_tensor *mask, bool reset_after,
                            bool reverse);

/* Panels of a row-vector product (src/core/gemv.c) worth one chunk of a
 * parallel loop: callers that split a plan's panels themselves use it. */
int64_t tc_gemv_grain(const tc_gemv_plan *p);

/* Called by tc_shutdown */
void tc_tape_shutdown(void);

#endif
