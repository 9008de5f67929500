/* Autograd's internal interface (not installed): the tape's node, the
 * recording calls every op makes, and the op ids. Ops and the tape are a
 * pair: an op records a node through tc_record; the tape runs a node's
 * backward through the op table (src/autograd/op_table.c) generated from the
 * op list of src/ops.
 *
 * How to write an operation (see src/ops/matmul.c for a complete one):
 *   1. add X(name) to the family's list in src/ops/<family>.def;
 *   2. write the public function: check arguments with the TC_CHECK_* macros
 *      (each error names the op and the shapes), make the result with
 *      tc_result(), run the forward kernel, then
 *        tc_node *n = tc_record(TC_OP_name, y, 2, (tc_tensor *[]){a, b}, sizeof(saved));
 *      which returns NULL when nothing needs a gradient (then save nothing);
 *   3. write `tc_status tc_backward_name(tc_node *n, const tc_tensor *gy)`,
 *      which adds into tc_grad_for(input) for each input (NULL: input needs
 *      none) and returns TC_OK, or the error when it could not (scratch
 *      memory): tc_backward then stops and names the op;
 *   4. give it a gradient check named in the .def entry (tests/test_grad_*.c;
 *      tests/test_op_coverage.c fails for an op without one).
 * An op listed in a .def file without its backward does not link. */
#ifndef TC_AUTOGRAD_INTERNAL_H
#define TC_AUTOGRAD_INTERNAL_H

#include "../core/internal.h"
#include "tensorcook/autograd.h"

/* ---- the op table -------------------------------------------------------- */
#include "../ops/op_list.h"

#define TC_OP_ENUM(name, gradcheck) TC_OP_##name,
enum tc_op_id { TC_OP_none = 0, TC_OP_LIST(TC_OP_ENUM) TC_OP_COUNT };
#undef TC_OP_ENUM

#define TC_OP_DECLARE_BACKWARD(name, gradcheck) tc_status tc_backward_##name(tc_node *n, const tc_tensor *gy);
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
/* Gradient buffer of t, created zeroed on first use; NULL if t needs none
 * (or, with an error set, when memory ran out). */
tc_tensor *tc_grad_for(tc_tensor *t);
/* The same for a backward that writes every element of the gradient itself
 * when it is new: *fresh is set when the buffer was just made and left
 * uninitialised (a step gradient of a non-leaf), so the caller must write
 * (not add to) every element; else the buffer is as tc_grad_for gives it. */
tc_tensor *tc_grad_for_overwrite(tc_tensor *t, bool *fresh);
/* grad->data += src (n values); nothing when the input needs no gradient (grad NULL). */
static inline void tc_accumulate_grad(tc_tensor *grad, const tc_scalar *src, int64_t n)
{
    if (grad) tc_accumulate(grad->data, src, n);
}

/* Runs node n's backward (src/autograd/op_table.c). */
tc_status tc_op_backward(tc_node *n, const tc_tensor *gy);
/* The op table's other columns, for the tests: the gradient-check program
 * named in op's .def entry, the number of op ids (1 .. count-1 are ops), and
 * how often op's backward has run in this process. */
const char *tc_op_gradcheck(int op);
int tc_op_count(void);
int64_t tc_op_backward_calls(int op);

/* The tape's length and its truncation (src/autograd/tape.c), for the step functions. */
void tc_tape_truncate(size_t len);
void tc_tape_shutdown(void);

/* Returns from the enclosing tc_status function when expr fails. */
#define TC_TRY_STATUS(expr)                 \
    do {                                    \
        tc_status tc_try_s_ = (expr);       \
        if (tc_try_s_ != TC_OK) return tc_try_s_; \
    } while (0)

#endif
