/* The list of every recorded operation, one X(name, gradcheck) per op, by family.
 * Each family keeps its list in its own .def file; the enum of op ids, the
 * names and the backward table (src/autograd/op_table.c) are generated from
 * this list, so an op without a backward does not link. */
#ifndef TC_OP_LIST_H
#define TC_OP_LIST_H

#include "view.def"
#include "matmul.def"
#include "elementwise.def"
#include "activation.def"
#include "reduce.def"
#include "shape.def"
#include "conv.def"
#include "pool.def"
#include "norm.def"
#include "loss.def"
#include "rnn.def"
#include "math_fn.def"

#define TC_OP_LIST(X)        \
    TC_OPS_VIEW(X)           \
    TC_OPS_MATMUL(X)         \
    TC_OPS_ELEMENTWISE(X)    \
    TC_OPS_ACTIVATION(X)     \
    TC_OPS_REDUCE(X)         \
    TC_OPS_SHAPE(X)          \
    TC_OPS_CONV(X)           \
    TC_OPS_POOL(X)           \
    TC_OPS_NORM(X)           \
    TC_OPS_LOSS(X)           \
    TC_OPS_RNN(X)            \
    TC_OPS_MATH_FN(X)

#endif
