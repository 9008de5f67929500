/* Shared machinery of the point-wise ops (elementwise.c, activation.c):
 * one kernel per family with the operation chosen outside the inner loop,
 * parallel over large tensors (each element is written by one thread, so
 * results do not depend on the thread count). */
#ifndef TC_POINTWISE_H
#define TC_POINTWISE_H

#include "ops_internal.h"

typedef enum {
    U_ADD_SCALAR, U_MUL_SCALAR, U_POW_SCALAR, U_EXP, U_LOG, U_SQRT, U_ABS, U_NEG, U_SQUARE, U_CLIP,
    U_RELU, U_LEAKY_RELU, U_ELU, U_TANH, U_SIGMOID, U_HARD_SIGMOID, U_SOFTPLUS
} unary_kind;

typedef struct {
    unary_kind kind;
    tc_scalar a, b; /* parameters: scalar, alpha/beta, lo/hi */
    const tc_scalar *x; /* packed input kept for backward */
} unary_saved;

tc_tensor *tc_unary_op(const char *name, int op, unary_kind kind, tc_tensor *x, tc_scalar a, tc_scalar b);
tc_status tc_unary_backward(tc_node *n, const tc_tensor *gy);

#define POINTWISE_GRAIN 16384

#endif
