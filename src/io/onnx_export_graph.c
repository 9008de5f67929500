/* The exporter's graph builder: nodes, attributes and initializers as
 * protobuf-c messages, names, and the layout conversions between
 * tensorcook's channels-last values and ONNX's channels-first ones. */
#include "onnx_export_internal.h"

#include <stdlib.h>

enum { T_FLOAT = 1, T_INT64 = 7 };

void *xa(xport *e, size_t size)
{
    if (e->n_mem == e->cap_mem) {
        size_t cap = e->cap_mem ? e->cap_mem * 2 : 256;
        void **g = realloc(e->mem, sizeof *g * cap);
        if (!g) longjmp(e->oom, 1);
        e->mem = g;
        e->cap_mem = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) longjmp(e->oom, 1);
    e->mem[e->n_mem++] = p;
    return p;
}

char *xstr(xport *e, const char *s)
{
    size_t n = strlen(s);
    char *c = xa(e, n + 1);
    memcpy(c, s, n);
    return c;
}

const char *xname(xport *e, const char *hint)
{
    char buf[160];
    /* "/" never appears in a layer name, so these never meet the outputs' names */
    snprintf(buf, sizeof buf, "%s/%d", hint, e->counter++);
    return xstr(e, buf);
}

static void push(xport *e, void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        void **g = realloc(*arr, sizeof *g * c);
        if (!g) longjmp(e->oom, 1);
        *arr = g;
        *cap = c;
    }
    (*arr)[(*n)++] = item;
}

Onnx__NodeProto *xnode(xport *e, const char *op, int n_in, const char *const *ins, int n_out, const char *const *outs)
{
    Onnx__NodeProto *n = xa(e, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = xstr(e, op);
    n->name = (char *)xname(e, op);
    n->n_input = (size_t)n_in;
    n->input = xa(e, sizeof(char *) * (size_t)(n_in + 1));
    for (int i = 0; i < n_in; i++) n->input[i] = xstr(e, ins[i]);
    n->n_output = (size_t)n_out;
    n->output = xa(e, sizeof(char *) * (size_t)(n_out + 1));
    for (int i = 0; i < n_out; i++) n->output[i] = xstr(e, outs[i]);
    push(e, (void ***)&e->node, &e->n_node, &e->cap_node, n);
    return n;
}

static Onnx__AttributeProto *attr(xport *e, Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType t)
{
    Onnx__AttributeProto **g = xa(e, sizeof *g * (n->n_attribute + 1));
    if (n->n_attribute) memcpy(g, n->attribute, sizeof *g * n->n_attribute); /* the old array stays in e->mem until the end */
    Onnx__AttributeProto *a = xa(e, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = xstr(e, name);
    a->has_type = 1;
    a->type = t;
    g[n->n_attribute++] = a;
    n->attribute = g;
    return a;
}

void xattr_i(xport *e, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void xattr_is(xport *e, Onnx__NodeProto *n, const char *name, int k, const int64_t *v)
{
    Onnx__AttributeProto *a = attr(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)k;
    a->ints = xa(e, sizeof(int64_t) * (size_t)(k + 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)k);
}

void xattr_f(xport *e, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void xattr_fs(xport *e, Onnx__NodeProto *n, const char *name, int k, const float *v)
{
    Onnx__AttributeProto *a = attr(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = (size_t)k;
    a->floats = xa(e, sizeof(float) * (size_t)(k + 1));
    memcpy(a->floats, v, sizeof(float) * (size_t)k);
}

void xattr_s(xport *e, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)xstr(e, v);
    a->s.len = strlen(v);
}

void xattr_ss(xport *e, Onnx__NodeProto *n, const char *name, int k, const char *const *v)
{
    Onnx__AttributeProto *a = attr(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = (size_t)k;
    a->strings = xa(e, sizeof *a->strings * (size_t)(k + 1));
    for (int i = 0; i < k; i++) {
        a->strings[i].data = (uint8_t *)xstr(e, v[i]);
        a->strings[i].len = strlen(v[i]);
    }
}

static const char *add_init(xport *e, const char *hint, int type, int ndim, const int64_t *dims, const void *data, size_t bytes)
{
    Onnx__TensorProto *t = xa(e, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)xname(e, hint);
    t->has_data_type = 1;
    t->data_type = type;
    t->n_dims = (size_t)ndim;
    t->dims = xa(e, sizeof(int64_t) * (size_t)(ndim + 1));
    if (ndim) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = xa(e, bytes);
    memcpy(t->raw_data.data, data, bytes); /* little-endian, as ONNX's raw_data */
    push(e, (void ***)&e->init, &e->n_init, &e->cap_init, t);
    return t->name;
}

const char *xinit_f(xport *e, const char *hint, int ndim, const int64_t *dims, const float *data)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
    return add_init(e, hint, T_FLOAT, ndim, dims, data, n * sizeof(float));
}

const char *xinit_i64(xport *e, const char *hint, int n, const int64_t *v)
{
    return add_init(e, hint, T_INT64, 1, (int64_t[]){n}, v, sizeof(int64_t) * (size_t)n);
}

float *xfloats(xport *e, const tc_tensor *t)
{
    int64_t n = tc_numel(t);
    tc_scalar *v = xa(e, sizeof(tc_scalar) * (size_t)(n + 1));
    tc_read_values(t, v);
    float *f = xa(e, sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
    return f;
}

const char *xop1(xport *e, const char *op, const char *x)
{
    const char *y = xname(e, op);
    xnode(e, op, 1, &x, 1, &y);
    return y;
}

const char *xop2(xport *e, const char *op, const char *a, const char *b)
{
    const char *y = xname(e, op);
    xnode(e, op, 2, (const char *[]){a, b}, 1, &y);
    return y;
}

const char *xtranspose(xport *e, const char *x, int rank, const int *perm)
{
    int64_t p[TC_MAX_DIMS + 1];
    for (int i = 0; i < rank; i++) p[i] = perm[i];
    const char *y = xname(e, "Transpose");
    xattr_is(e, xnode(e, "Transpose", 1, &x, 1, &y), "perm", rank, p);
    return y;
}

/* opset 13 on: Squeeze's and Unsqueeze's axes are an input */
const char *xsqueeze(xport *e, const char *x, int axis)
{
    return xop2(e, "Squeeze", x, xinit_i64(e, "axes", 1, (int64_t[]){axis}));
}

const char *xunsqueeze(xport *e, const char *x, int axis)
{
    return xop2(e, "Unsqueeze", x, xinit_i64(e, "axes", 1, (int64_t[]){axis}));
}

const char *xreshape(xport *e, const char *x, int n, const int64_t *shape)
{
    return xop2(e, "Reshape", x, xinit_i64(e, "shape", n, shape));
}

const char *as_nat(xport *e, xval *v)
{
    int r = v->s.ndim + 1;
    if (v->ids) { /* int64 ids read as numbers */
        const char *y = xname(e, "Cast"), *x = v->nat;
        xattr_i(e, xnode(e, "Cast", 1, &x, 1, &y), "to", T_FLOAT);
        return y;
    }
    if (!v->nat[0]) {
        int perm[TC_MAX_DIMS + 1] = {0};
        for (int i = 1; i < r - 1; i++) perm[i] = i + 1; /* [0, 2, .., r-1, 1] */
        perm[r - 1] = 1;
        snprintf(v->nat, sizeof v->nat, "%s", r <= 2 ? v->cf : xtranspose(e, v->cf, r, perm));
    }
    return v->nat;
}

const char *as_cf(xport *e, xval *v)
{
    int r = v->s.ndim + 1;
    if (!v->cf[0]) {
        const char *x = as_nat(e, v);
        int perm[TC_MAX_DIMS + 1] = {0};
        perm[1] = r - 1; /* [0, r-1, 1, .., r-2] */
        for (int i = 2; i < r; i++) perm[i] = i - 1;
        snprintf(v->cf, sizeof v->cf, "%s", r <= 2 ? x : xtranspose(e, x, r, perm));
    }
    return v->cf;
}

const char *as_ids(xport *e, xval *v)
{
    if (v->ids) return v->nat;
    const char *y = xname(e, "Cast");
    const char *x = as_nat(e, v);
    xattr_i(e, xnode(e, "Cast", 1, &x, 1, &y), "to", T_INT64);
    return y;
}

tc_status xact(xport *e, const char *x, tc_activation a, int axis, const char **y)
{
    Onnx__NodeProto *n;
    switch (a) {
    case TC_LINEAR: *y = x; return TC_OK;
    case TC_RELU: *y = xop1(e, "Relu", x); return TC_OK;
    case TC_SIGMOID: *y = xop1(e, "Sigmoid", x); return TC_OK;
    case TC_TANH: *y = xop1(e, "Tanh", x); return TC_OK;
    case TC_SOFTPLUS: *y = xop1(e, "Softplus", x); return TC_OK;
    case TC_SOFTMAX:
        *y = xname(e, "Softmax");
        xattr_i(e, xnode(e, "Softmax", 1, &x, 1, y), "axis", axis);
        return TC_OK;
    case TC_ELU:
        *y = xname(e, "Elu");
        xattr_f(e, xnode(e, "Elu", 1, &x, 1, y), "alpha", 1.0f);
        return TC_OK;
    case TC_LEAKY_RELU:
        *y = xname(e, "LeakyRelu");
        n = xnode(e, "LeakyRelu", 1, &x, 1, y);
        xattr_f(e, n, "alpha", 0.3f); /* Keras' default, as tc_activate */
        return TC_OK;
    }
    return tc_error(TC_ERR_UNSUPPORTED, "activation %d has no ONNX operator", (int)a);
}
