/* The ONNX exporter's shared pieces (onnx_export*.c): a graph under
 * construction with protobuf-c messages, and the values of the model being
 * translated. Every allocation is recorded and freed at the end; running
 * out of memory jumps back to tc_onnx_export, which reports it. */
#ifndef TC_ONNX_EXPORT_INTERNAL_H
#define TC_ONNX_EXPORT_INTERNAL_H

#include "../core/internal.h"
#include "onnx.pb-c.h"
#include "tensorcook/nn.h"
#include "tensorcook/onnx.h"
#include "tensorcook/rnn.h"

#include <setjmp.h>

/* A value of the model as the graph holds it: in tensorcook's layout
 * (channels last) and/or channels-first (ONNX's NCHW: the last axis moved
 * to axis 1); an empty name is a layout not made yet. Rank <= 2 values are
 * the same in both. */
typedef struct {
    int ndim;
    int64_t d[TC_MAX_DIMS];
} xshape;           /* a shape without the batch axis */

typedef struct {
    char nat[96], cf[96];
    xshape s;       /* shape without the batch axis, tensorcook's layout */
    bool ids;       /* nat holds int64 ids (a model input read by Embedding) */
} xval;

/* A layer call being translated, through nn's public accessors: its
 * options, where its weights are (a wrapper holds its inner layers'), and
 * its outputs' shapes. */
typedef struct {
    const tc_layer *l;
    const char *name, *type;
    tc_layer_config c;
    const tc_rnn_opts *rnn;     /* LSTM, GRU, SimpleRNN */
    bool go_backwards;          /* rnn's, or flipped for a Bidirectional's backward layer */
    const tc_layer *wl;         /* the layer holding the weights */
    int w0;                     /* its first weight that is this layer's */
    int n_out;
    xshape out[TC_LAYER_MAX_OUTPUTS];
} xlayer_t;

/* x for layer l holding its own weights, outputs as given */
tc_status xlayer_of(const tc_layer *l, xlayer_t *x);
const tc_tensor *xw(const xlayer_t *x, int k); /* the layer's weight k */

typedef struct {
    int opset;
    Onnx__NodeProto **node;
    size_t n_node, cap_node;
    Onnx__TensorProto **init;
    size_t n_init, cap_init;
    void **mem;
    size_t n_mem, cap_mem;
    int counter;
    jmp_buf oom;
} xport;

void *xa(xport *e, size_t size);                  /* zeroed, freed with the exporter */
char *xstr(xport *e, const char *s);
const char *xname(xport *e, const char *hint);    /* a fresh name "hint/N" */
/* A node; ins may hold "" for a skipped optional input. */
Onnx__NodeProto *xnode(xport *e, const char *op, int n_in, const char *const *ins, int n_out, const char *const *outs);
void xattr_i(xport *e, Onnx__NodeProto *n, const char *name, int64_t v);
void xattr_is(xport *e, Onnx__NodeProto *n, const char *name, int k, const int64_t *v);
void xattr_f(xport *e, Onnx__NodeProto *n, const char *name, float v);
void xattr_fs(xport *e, Onnx__NodeProto *n, const char *name, int k, const float *v);
void xattr_s(xport *e, Onnx__NodeProto *n, const char *name, const char *v);
void xattr_ss(xport *e, Onnx__NodeProto *n, const char *name, int k, const char *const *v);
/* Initializers: float data (copied) or 1-D int64. */
const char *xinit_f(xport *e, const char *hint, int ndim, const int64_t *dims, const float *data);
const char *xinit_i64(xport *e, const char *hint, int n, const int64_t *v);
/* A weight's values as float (tc_scalar may be double). */
float *xfloats(xport *e, const tc_tensor *t);
/* One-output nodes: the new value's name. */
const char *xop1(xport *e, const char *op, const char *x);
const char *xop2(xport *e, const char *op, const char *a, const char *b);
const char *xtranspose(xport *e, const char *x, int rank, const int *perm);
const char *xsqueeze(xport *e, const char *x, int axis);
const char *xunsqueeze(xport *e, const char *x, int axis);
const char *xreshape(xport *e, const char *x, int n, const int64_t *shape);
/* The value in tensorcook's layout (float), channels-first, or as int64 ids. */
const char *as_nat(xport *e, xval *v);
const char *as_cf(xport *e, xval *v);
const char *as_ids(xport *e, xval *v);
/* An activation on x (softmax over axis). */
tc_status xact(xport *e, const char *x, tc_activation a, int axis, const char **y);

/* Layers (onnx_export_layers.c, onnx_export_rnn.c): out[0 .. l->n_out-1]
 * get the outputs' names and shapes. */
tc_status xlayer(xport *e, const xlayer_t *l, int n_in, xval *in, xval *out);
tc_status xrnn(xport *e, const xlayer_t *l, int n_in, xval *in, xval *out);
tc_status xbidirectional(xport *e, const xlayer_t *l, int n_in, xval *in, xval *out);
tc_status xattention(xport *e, const xlayer_t *l, bool additive, int n_in, xval *in, xval *out);

#endif
