/* Reverse-mode autodiff on a tape (define-by-run).
 *
 * Every operation whose inputs include a tensor that requires a gradient
 * appends a node to the calling thread's tape. tc_backward(loss) walks the
 * tape in reverse and accumulates d loss / d t into t->grad for every tensor
 * t that requires a gradient: parameters and inputs alike. Gradients of
 * leaves accumulate across calls until tc_zero_grad; gradients of
 * intermediate results are recomputed by each backward.
 */
#ifndef TENSORCOOK_AUTOGRAD_H
#define TENSORCOOK_AUTOGRAD_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Backward from a tensor with one element (a loss). */
tc_status tc_backward(tc_tensor *loss);
/* Backward from any tensor with a given output gradient (same shape). */
tc_status tc_backward_with(tc_tensor *out, const tc_tensor *grad_out);

/* No-grad mode: nothing is recorded (inference). Returns the previous mode. */
bool tc_set_grad_enabled(bool enabled);
bool tc_grad_enabled(void);

/* ReLU backprop modifiers (saliency: keras-vis' backprop_modifier), chosen
 * per call: the mode is the calling thread's, read by relu's backward when
 * tc_backward runs (not when the forward was recorded), so the same tape
 * and the same ReLU op used in training give
 *   PLAIN      gx = g * (x > 0)              (the true gradient; default)
 *   GUIDED     gx = g * (g > 0) * (x > 0)    (guided backprop, Springenberg et al.)
 *   RECTIFIED  gx = g * (g > 0)              (deconvnet, Zeiler & Fergus)
 * Only tc_relu (and layers with TC_RELU) follow it; leaky relu and others do not.
 * Set it around one backward and restore the previous mode it returns. */
typedef enum { TC_RELU_GRAD_PLAIN = 0, TC_RELU_GRAD_GUIDED, TC_RELU_GRAD_RECTIFIED } tc_relu_grad_mode;
tc_relu_grad_mode tc_set_relu_grad_mode(tc_relu_grad_mode mode);
tc_relu_grad_mode tc_get_relu_grad_mode(void);

/* Number of nodes on the tape, and a readable dump of it. */
size_t tc_tape_length(void);
void tc_tape_dump(FILE *out);
/* Forget the tape without releasing memory (tc_step_reset also clears it). */
void tc_tape_clear(void);

/* ---- the step: the tape and the step arena, released together --------------
 * Everything a step makes (results, tape nodes, saved values, gradients of
 * intermediates) lives in the calling thread's arena; the step ends by
 * truncating the tape and rewinding the arena, to a mark or to empty. */
typedef struct { size_t arena_position; size_t tape_len; } tc_step_mark;
tc_step_mark tc_step_get_mark(void);
/* Drops the tape nodes recorded and frees the step memory allocated after mark. */
void tc_step_release(tc_step_mark mark);
/* Everything: the step is over. */
void tc_step_reset(void);

/* Release the tape, the arena, the pool and other process state (end of
 * program, leak checks). */
void tc_shutdown(void);

/* Name of an operation, by the id stored in a node. */
const char *tc_op_name(int op);

#ifdef __cplusplus
}
#endif
#endif
