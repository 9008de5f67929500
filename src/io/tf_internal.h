/* TensorFlow frozen-graph (GraphDef .pb) import, inside src/io: the parsed
 * graph with every node input resolved and the nodes in an order where each
 * node comes after the nodes it reads. The builder of tensorcook graphs from
 * it (one op per node, as the ONNX importer does) goes on top of this. */
#ifndef TC_IO_TF_INTERNAL_H
#define TC_IO_TF_INTERNAL_H

#include "tf_graph.pb-c.h"
#include "tensorcook/core.h"

typedef struct {
    int node;    /* index into def->node */
    int output;  /* k of "name:k" (0 for "name") */
    int control; /* "^name": orders execution only, carries no value */
} tf_input_ref;

typedef struct {
    Tctf__GraphDef *def;
    int n_nodes;
    int *order;            /* n_nodes node indices, producers first */
    tf_input_ref **inputs; /* per node: its inputs in NodeDef order, control ones flagged */
    int *n_inputs;
} tf_graph;

/* Reads PATH; every error names the file: not a GraphDef (truncated,
 * corrupt), a node without a name or op, two nodes with one name, an input
 * naming no node, a cycle. */
tc_status tc_tf_graph_read(const char *path, tf_graph **out);
/* The same on bytes in memory; PATH only labels the errors (the fuzzer). */
tc_status tc_tf_graph_read_memory(const void *data, size_t size, const char *path, tf_graph **out);
void tc_tf_graph_free(tf_graph *g);
/* Index of the node called NAME, or -1. */
int tc_tf_graph_find(const tf_graph *g, const char *name);

/* ---- the model: the graph with its constants decoded and every node's
 * translation into tensorcook operations resolved at load ---------------- */
#include "tensorcook/tf_graph.h"

struct tf_op_entry;

struct tc_tf_model {
    char *path;
    tf_graph *g;
    const struct tf_op_entry **op; /* per node: its translation */
    tc_tensor **konst;             /* per node: a Const's value (long-lived), else NULL */
    int n_inputs;
    int *input_nodes;              /* the Placeholders, in file order */
};

/* What a translation sees while it runs: the node, for attributes and messages. */
typedef struct {
    const tc_tf_model *m;
    int node;
    const Tctf__NodeDef *def;
} tf_ctx;

/* in: the node's value inputs (control inputs left out), n of them. */
typedef tc_tensor *(*tf_op_fn)(tf_ctx *c, int n, tc_tensor **in);
typedef struct tf_op_entry {
    const char *op;
    int min_in, max_in; /* value inputs; max -1: any number */
    tf_op_fn fn;
} tf_op_entry;

/* The translations (tf_ops.c), ended by an entry with op NULL. */
extern const tf_op_entry tc_tf_ops[];
const tf_op_entry *tc_tf_op_lookup(const char *op);

/* Attributes of a node (NULL / the default when absent or of another kind). */
const Tctf__AttrValue *tc_tf_attr(const Tctf__NodeDef *d, const char *key);
int64_t tc_tf_attr_int(const Tctf__NodeDef *d, const char *key, int64_t dflt);
float tc_tf_attr_float(const Tctf__NodeDef *d, const char *key, float dflt);
bool tc_tf_attr_bool(const Tctf__NodeDef *d, const char *key, bool dflt);
/* Whether the string attribute is `value` (absent: whether dflt is). */
bool tc_tf_attr_is(const Tctf__NodeDef *d, const char *key, const char *value, const char *dflt);
/* A list of ints: its length (-1 when absent), up to max copied. */
int tc_tf_attr_ints(const Tctf__NodeDef *d, const char *key, int64_t *out, int max);

/* A TensorProto as a long-lived float tensor (float, double, int32, int64,
 * bool; raw tensor_content or the repeated value fields, TF's fill rule for
 * short lists). who names the node in errors. */
tc_tensor *tc_tf_decode_tensor(const Tctf__TensorProto *t, const char *path, const char *who);

/* A failed node: "PATH: node 'name' (Op): message". */
tc_status tc_tf_fail(const tf_ctx *c, tc_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
