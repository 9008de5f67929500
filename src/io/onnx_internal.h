/* ONNX importer internals shared by the loader, the tensor codec, the
 * interpreter and the operator translations. */
#ifndef TC_ONNX_INTERNAL_H
#define TC_ONNX_INTERNAL_H

#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/onnx.h"
#include "onnx.pb-c.h"

/* A named value of the graph: a graph input, an initializer or a node output. */
typedef struct {
    const char *name;
    int producer;          /* node index, -1 for graph inputs and initializers */
    tc_tensor *init;       /* initializer data (long-lived), or NULL */
    tc_onnx_dtype dtype;   /* FLOAT or INT64 (other integer types load as INT64) */
    const Onnx__ValueInfoProto *info; /* declared type/shape, if any */
    int elem_type;         /* ONNX element type where the file declares it, else 0 */
    int outer;             /* in a subgraph: the enclosing graph's value this one captures, else -1 */
} onnx_value;

/* One attribute of a node, decoded at load: strings get a NUL-terminated
 * copy, so translations never copy them again while running. */
typedef struct {
    const char *name;
    const Onnx__AttributeProto *proto;
    char *s;               /* the string value, or NULL */
} onnx_attr;

struct onnx_op_entry;

/* A Conv's fused epilogue (onnx_fuse.c): the nodes after it that it computes
 * when it runs without a gradient to record. */
typedef struct onnx_fusion {
    tc_conv_act act;
    float lo, hi;          /* TC_CONV_CLIP's bounds */
    int residual;          /* value added before act (the other input of an Add), or -1 */
    int out_value;         /* the value the fused Conv writes: the last absorbed node's output */
    int n_absorbed;
    int absorbed[3];       /* node indices: Add, Relu, Clip (each optional, in this order) */
} onnx_fusion;

typedef struct onnx_node {
    const Onnx__NodeProto *proto;
    int n_in, n_out;
    int *in;               /* value indices; -1 for an omitted optional input */
    int *out;
    char *label;           /* "Conv node 'x'" for messages */
    int n_attr;
    onnx_attr *attr;
    /* resolved once at load: the translation (NULL: not supported) and its
     * prepared attributes (op-specific struct, malloc'd, or NULL) */
    const struct onnx_op_entry *op;
    void *attrs;
    void (*free_attrs)(void *);
    char *prep_error;      /* a prepare failure, reported when the node runs */
    struct tc_onnx_model *sub[2]; /* If's branches, Loop's and Scan's body (owned by attrs), for inspection */
    tc_status prep_status;
    /* inference rewriting (onnx_fuse.c) */
    bool skip;             /* folded into the node before it (a BatchNormalization): never runs */
    int fused_into;        /* 1 + the Conv whose epilogue may compute this node, or 0 */
    onnx_fusion *fusion;   /* a Conv's epilogue, or NULL */
    struct onnx_block *block; /* a chain of Convs run image by image from this one (onnx_block.c), or NULL */
} onnx_node;

struct tc_onnx_model {
    Onnx__ModelProto *proto;
    char *path;
    char *dir;             /* folder of the model, for external data */
    int64_t opset;
    int n_values, cap_values;
    onnx_value *values;
    int n_nodes;
    onnx_node *nodes;      /* in topological order */
    int max_io;            /* most inputs or outputs of one node */
    int n_inputs, n_outputs;
    int *inputs, *outputs; /* value indices */
    int n_inits;
    int *inits;
    tc_tensor **cl_kernels; /* per value: an initializer's Conv kernel in tensorcook's layout, made at load */
    /* per value (as many slots as cl_kernels): that kernel packed for the GEMM
     * (tc_conv_weights), made by its Conv's first run without a gradient;
     * trained: the initializer was once seen requiring a gradient, so its
     * values may have changed since cl_kernels / pack were made and neither
     * is used again (the Conv reads the initializer itself from then on) */
    struct onnx_conv_pack {
        tc_conv_weights *pack;
        bool trained;
        /* Gemm / MatMul with this initializer as B, with a reduced precision:
         * B packed once in bf16 / int8 (trans_b: packed from B^T), or NULL */
        tc_gemm_b_panel *dense;
        bool dense_tb;
    } *conv_packs;
    /* weights of Conv, Gemm and MatMul with constant kernels (tc_onnx_set_precision;
     * a subgraph follows its enclosing model's) */
    tc_precision precision;

    /* buffer lifetimes (onnx_live.c), planned at the first run after load or
     * after tc_onnx_prepare_inference (which frees them): the values whose
     * last reader is node k are release_vals[release_at[k] .. release_at[k + 1]) */
    int *release_at, *release_vals;
    struct onnx_branch_plan *interop; /* branch-parallel regions (onnx_branches.c), or NULL */
    tc_onnx_node_profile *profile; /* per node, while profiling is on (onnx_profile.c), else NULL */
    struct tc_onnx_model *parent; /* a subgraph's enclosing graph (If/Loop/Scan bodies); NULL for the model */
    int depth;                    /* nesting depth of a subgraph */
};

/* The precision the model's constant kernels are packed in (a subgraph: its enclosing model's) */
static inline tc_precision tc_onnx_precision(const tc_onnx_model *m)
{
    while (m->parent) m = m->parent;
    return m->precision;
}

/* Decode a TensorProto (raw/typed data, external data relative to dir) into a
 * long-lived tensor; dtype receives FLOAT or INT64. who names it in errors. */
tc_tensor *tc_onnx_decode_tensor(const Onnx__TensorProto *tp, const char *dir, tc_onnx_dtype *dtype,
                                 const char *who);

/* Loads graph g, an attribute of a node of parent, as a model of its own
 * whose values may capture parent's by name (onnx_load.c). who names it
 * in messages ("Loop node 'x' body"); its path is "PARENT_PATH: who". */
tc_onnx_model *tc_onnx_load_subgraph(tc_onnx_model *parent, const Onnx__GraphProto *g, const char *who);

/* Runs a model or a subgraph (onnx_run.c). in_dt: the inputs' element
 * types (NULL: as declared; a subgraph's inputs are not checked against
 * their declared shapes, as Loop's carried values may change shape).
 * outer_val/outer_dt: the enclosing graph's values, which captured values
 * read (NULL for the model). out_dt (may be NULL) receives the outputs'
 * element types. */
tc_status tc_onnx_run_graph(tc_onnx_model *m, int n_inputs, tc_tensor *const *inputs, const tc_onnx_dtype *in_dt,
                            tc_tensor *const *outer_val, const tc_onnx_dtype *outer_dt, int n_outputs,
                            tc_tensor **outputs, tc_onnx_dtype *out_dt);

/* Reuse of dead intermediates' memory within a run (onnx_live.c). */
typedef struct onnx_live onnx_live;
/* Plans m's lifetimes if needed and starts tracking a run's buffers; NULL
 * (nothing is recycled, no error) when reuse is off: a gradient may be
 * recorded (grad mode on and an input, initializer or captured value
 * requiring one), TENSORCOOK_ONNX_REUSE=0, or no memory. */
onnx_live *tc_onnx_live_begin(tc_onnx_model *m, tc_tensor *const *val);
/* Value v was produced as t. */
void tc_onnx_live_produced(onnx_live *l, int v, const tc_tensor *t);
/* Node k has run (or was skipped): the buffers of values it read last and
 * no other live value shares go back to the arena. */
void tc_onnx_live_after(onnx_live *l, int k);
/* Around one node's translation: what it allocated and its outputs do not
 * occupy (scratch, packed copies, intermediate results) goes back to the
 * arena at its end (ok false: the node failed, nothing is recycled). */
void tc_onnx_live_node_begin(onnx_live *l);
void tc_onnx_live_node_end(onnx_live *l, bool ok, int n_out, tc_tensor *const *out);
/* The same end of a scratch scope without the tracking (a region's worker,
 * onnx_branches.c): keep receives 2 spans per output. */
void tc_onnx_scratch_end(tc_arena_scope scope, bool ok, int n_out, tc_tensor *const *out, tc_arena_span *keep);
/* Forgets the plan (the graph was rewritten). */
void tc_onnx_live_forget(tc_onnx_model *m);

/* Per-node timing (onnx_profile.c): the clocks before a node, then its
 * totals in m->profile[k] after it ran with inputs in and outputs out. */
void tc_onnx_profile_clock(double *wall, double *cpu);
void tc_onnx_profile_add(tc_onnx_model *m, int k, double wall0, double cpu0, int n_in, tc_tensor *const *in,
                         tc_tensor *const *out);

/* 2 x the multiply-adds of a Conv, ConvTranspose, Gemm or MatMul from the
 * shapes it ran with; 0 for other nodes (onnx_profile.c). */
double tc_onnx_node_flops(const onnx_node *nd, int n_in, tc_tensor *const *in, tc_tensor *const *out);

/* Declared shape of a value (dims -1 where symbolic); rank, or -1 if unknown. */
int tc_onnx_declared_shape(const onnx_value *v, int64_t *dims);

/* Attribute lookup on a node's decoded attributes. */
const Onnx__AttributeProto *tc_onnx_attr(const onnx_node *n, const char *name);
int64_t tc_onnx_attr_int(const onnx_node *n, const char *name, int64_t dflt);
float tc_onnx_attr_float(const onnx_node *n, const char *name, float dflt);
/* A string attribute (valid as long as the model), or dflt. */
const char *tc_onnx_attr_string(const onnx_node *n, const char *name, const char *dflt);
/* Integer list attribute; returns its length (or -1 if absent) and fills up to max. */
int tc_onnx_attr_ints(const onnx_node *n, const char *name, int64_t *out, int max);
int tc_onnx_attr_floats(const onnx_node *n, const char *name, float *out, int max);

/* "Conv node 'conv1'" style label for messages (node names are often NULL). */
const char *tc_onnx_node_label(const Onnx__NodeProto *n, char *buf, size_t size);

/* Resolves a node's translation and prepares its attributes (onnx_run.c). */
tc_status tc_onnx_prepare_node(tc_onnx_model *m, onnx_node *n);
void tc_onnx_free_node(onnx_node *n);

#endif
