/* Read access to a built model's graph for code that translates it
 * (the ONNX exporter): its calls in topological order and its values. */
#ifndef TC_NN_MODEL_GRAPH_H
#define TC_NN_MODEL_GRAPH_H

#include "layer.h"

typedef struct {
    tc_layer *layer;
    int n_in;
    const int *in;               /* value ids */
    int first_out, n_out;        /* its outputs: values first_out .. first_out + n_out - 1 */
} tc_model_call;

int tc_model_call_count(const tc_model *m);
bool tc_model_call_at(const tc_model *m, int c, tc_model_call *out);
int tc_model_value_count(const tc_model *m);
/* The value's shape (batch excluded); NULL for an id out of range. */
const tc_shp *tc_model_value_shape(const tc_model *m, int v);
/* The call whose layer made the mask value v carries, -1: none. */
int tc_model_value_mask_from(const tc_model *m, int v);
int tc_model_input_count(const tc_model *m);
int tc_model_output_count(const tc_model *m);
int tc_model_input_value(const tc_model *m, int i);  /* value id of input i */
int tc_model_output_value(const tc_model *m, int i); /* value id of output i */
const char *tc_model_input_name(const tc_model *m, int i);

#endif
