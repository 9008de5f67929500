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

#endif
