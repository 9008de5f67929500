/* Layers and models, Keras-like.
 *
 * A layer is made by a constructor with an option struct, e.g.
 *   tc_conv2d(&(tc_conv_opts){.filters = 32, .kernel = 5, .padding = TC_SAME, .act = TC_RELU})
 * and belongs to the model it is put in (the model frees it). Models are
 * sequential (a list of layers) or functional (a graph of layer calls with
 * several inputs and outputs). Shapes are checked when the model is built,
 * so a wrong shape is reported with the layer's name before any data runs.
 *
 * Parameters are long-lived tensors named like Keras' weights
 * ("conv2d_1/kernel", "batch_normalization/moving_mean"); layer names are
 * given or generated per type ("conv2d", "conv2d_1", ...), unique within a
 * model; a given name must be unique and without '/'. Shapes in this API
 * exclude the batch axis. Initial weights follow Keras (glorot_uniform
 * kernels, zero biases, uniform(-0.05, 0.05) embeddings) and are drawn from a
 * generator seeded by tc_nn_seed, so the same seed builds the same model.
 *
 * A constructor given bad options returns NULL (tc_last_error says why).
 * Because that NULL ends a NULL-terminated layer list early, the next
 * tc_sequential on the thread reports the failure instead of building a
 * shorter model, and frees the layers the NULL hid. See docs/api.md. */
#ifndef TENSORCOOK_NN_H
#define TENSORCOOK_NN_H

#include "core.h"
#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_layer tc_layer;
typedef struct tc_model tc_model;

typedef enum { TC_LINEAR = 0, TC_RELU, TC_SIGMOID, TC_TANH, TC_SOFTMAX, TC_ELU, TC_SOFTPLUS, TC_LEAKY_RELU } tc_activation;
const char *tc_activation_name(tc_activation a);
tc_tensor *tc_activate(tc_tensor *x, tc_activation a);

/* ---- layer options (zero fields take the default shown) ------------------ */
typedef struct {
    int units;
    tc_activation act;
    bool no_bias;
    const char *name;
    int input_dim;          /* optional: the model's input shape [input_dim] */
} tc_dense_opts;

typedef struct {
    int filters;
    int kernel, kernel_dims[3];   /* square/cubic kernel, or per axis (required) */
    int stride, strides[3];       /* default 1 */
    int dilation, dilations[3];   /* default 1 */
    tc_padding padding;           /* VALID (default), SAME, CAUSAL (1-D) */
    tc_activation act;
    bool no_bias;
    int depth_multiplier;         /* DepthwiseConv2D / SeparableConv2D: default 1 */
    const char *name;
    int64_t input_shape[4];       /* optional: the model's input shape, e.g. {28, 28, 1} */
} tc_conv_opts;

typedef struct {
    int pool, pool_dims[3];       /* window; default 2 */
    int stride, strides[3];       /* default: the window */
    tc_padding padding;           /* VALID (default) or SAME */
    const char *name;
} tc_pool_opts;

typedef struct {
    int input_dim, output_dim;    /* vocabulary size, vector size */
    const char *name;
    int64_t input_length;         /* optional: the model's input shape [input_length] */
    bool mask_zero;               /* id 0 is padding: the output carries a mask (see tc_masking) */
} tc_embedding_opts;

typedef struct {
    double momentum;              /* 0.99 */
    double eps;                   /* 1e-3 */
    const char *name;
    bool no_scale;                /* Keras' scale=False: no gamma (InceptionV3) */
    bool no_center;               /* Keras' center=False: no beta */
} tc_batchnorm_opts;

tc_layer *tc_dense(const tc_dense_opts *o);
tc_layer *tc_conv1d(const tc_conv_opts *o);
tc_layer *tc_conv2d(const tc_conv_opts *o);
tc_layer *tc_conv3d(const tc_conv_opts *o);
tc_layer *tc_depthwise_conv2d(const tc_conv_opts *o);  /* kernel [kh, kw, C, multiplier] */
tc_layer *tc_separable_conv2d(const tc_conv_opts *o);  /* depthwise, then 1x1 to filters */
tc_layer *tc_maxpool1d(const tc_pool_opts *o);
tc_layer *tc_maxpool2d(const tc_pool_opts *o);
tc_layer *tc_maxpool3d(const tc_pool_opts *o);
tc_layer *tc_avgpool1d(const tc_pool_opts *o);
tc_layer *tc_avgpool2d(const tc_pool_opts *o);
tc_layer *tc_avgpool3d(const tc_pool_opts *o);
tc_layer *tc_global_avgpool(const char *name);          /* any rank: [.., C] -> [C] */
tc_layer *tc_global_maxpool(const char *name);
tc_layer *tc_flatten_layer(const char *name);
tc_layer *tc_reshape_layer(int ndim, const int64_t *shape, const char *name); /* one -1 allowed */
tc_layer *tc_dropout_layer(double rate, const char *name);
tc_layer *tc_batchnorm(const tc_batchnorm_opts *o);
tc_layer *tc_embedding(const tc_embedding_opts *o);
/* Keras' TimeDistributed: the layer applied to every step of a [batch, time,
 * ...] input (steps folded into the batch). Takes ownership of layer; its
 * weights are the wrapper's (time_distributed/kernel, ...). */
tc_layer *tc_time_distributed(tc_layer *layer, const char *name);
tc_layer *tc_activation_layer(tc_activation a, const char *name);
tc_layer *tc_concatenate(int axis, const char *name);    /* axis of the full tensor (-1: last) */
tc_layer *tc_add_layer(const char *name);
/* Keras' Masking: a step of a [batch, time, features] input whose features
 * all equal mask_value is padding; the output is the input with those steps
 * zeroed, and carries a [batch, time] mask. Masks flow on through layers
 * that keep the time axis (Dense, Dropout, Activation, BatchNormalization;
 * Add and Concatenate merge them) to the recurrent layers, which skip the
 * masked steps (rnn.h); a layer that cannot honour a mask (Flatten, Conv1D,
 * pooling...) refuses it when the model is built, as in Keras 2. */
tc_layer *tc_masking(double mask_value, const char *name);
/* Keras' ZeroPadding2D(((top, bottom), (left, right))): zeros around the
 * spatial axes of [H, W, C]. */
tc_layer *tc_zero_padding2d(int top, int bottom, int left, int right, const char *name);
/* Keras' ZeroPadding3D(((d0, d1), (h0, h1), (w0, w1))): zeros around the
 * three spatial axes of [D, H, W, C] (C3D pads (0, 1, 1) before pool5). */
tc_layer *tc_zero_padding3d(const int pads[6], const char *name);

const char *tc_layer_name(const tc_layer *l);
const char *tc_layer_type(const tc_layer *l);            /* Keras class name, e.g. "Conv2D" */
void tc_layer_set_trainable(tc_layer *l, bool trainable);
bool tc_layer_trainable(const tc_layer *l);
/* Output shape without the batch axis (valid once the model is built); of
 * output 0 for a layer with several outputs (an RNN with return_state). */
int tc_layer_output_shape(const tc_layer *l, int64_t *shape);
int tc_layer_output_count(const tc_layer *l);            /* 0 before the model is built */
int tc_layer_output_shape_at(const tc_layer *l, int k, int64_t *shape);
int64_t tc_layer_param_count(const tc_layer *l);
/* The generator a layer draws its random numbers from (Dropout's masks, an
 * RNN's dropout), NULL for layers that draw none: its position is training
 * state (checkpoints store it so a resumed run draws the same masks). */
tc_rng *tc_layer_rng(tc_layer *l);
/* The most weights one layer holds: Bidirectional(LSTM with peepholes) holds 8. */
#define TC_LAYER_MAX_WEIGHTS 8
int tc_layer_weight_count(const tc_layer *l);
tc_tensor *tc_layer_weight(const tc_layer *l, int i);    /* e.g. kernel, bias */
const char *tc_layer_weight_name(const tc_layer *l, int i); /* "kernel", "moving_mean", ... */
/* The layer a wrapper runs: Bidirectional's forward recurrent layer,
 * TimeDistributed's layer (their weights are the wrapper's); NULL for every
 * other layer: importers and exporters read its type and options. */
const tc_layer *tc_layer_wrapped(const tc_layer *l);
/* A layer's options read back (translators such as the ONNX exporter),
 * valid once the model is built; only the fields of its type are set. The
 * recurrent layers' options: tc_rnn_layer_opts (rnn.h). */
typedef struct {
    tc_activation act;           /* Dense, convolutions, Activation, SimpleRNN */
    int spatial_rank;            /* convolutions and pooling: 1 to 3 */
    bool is_max;                 /* pooling and global pooling */
    tc_dense_opts dense;
    tc_conv_opts conv;           /* Conv1D/2D/3D, DepthwiseConv2D, SeparableConv2D */
    tc_pool_opts pool;
    tc_embedding_opts emb;
    tc_batchnorm_opts bn;        /* with the defaults applied */
    int axis;                    /* Concatenate: of the full tensor (resolved when built); RepeatVector: n */
    int64_t pad[6];              /* ZeroPadding2D: top, bottom, left, right; 3D: before, after of each axis */
    double rate;                 /* Dropout */
    double mask_value;           /* Masking */
    bool use_scale, causal;      /* Attention, AdditiveAttention */
} tc_layer_config;
tc_status tc_layer_get_config(const tc_layer *l, tc_layer_config *c);
/* The backward layer of a Bidirectional wrapper (its options; the weights
 * are the wrapper's second half), NULL for every other layer. */
const tc_layer *tc_layer_wrapped_backward(const tc_layer *l);
/* Free a layer that was never put in a model (one in a model is left alone,
 * with an error: the model frees it). */
void tc_layer_free(tc_layer *l);

/* ---- sequential models ---------------------------------------------------------
 * layers: NULL-terminated. The input shape comes from the first layer's
 * options or from input_shape (batch excluded). The model takes ownership of
 * the layers, also when it fails (then everything is freed). */
tc_model *tc_sequential(const char *name, tc_layer *const *layers);
tc_model *tc_sequential_with_input(const char *name, int ndim, const int64_t *input_shape,
                                   tc_layer *const *layers);

/* ---- functional models -----------------------------------------------------------
 * A graph builder: inputs and layer calls give symbolic values; tc_graph_model
 * turns the graph into a model (and frees the builder, also on failure).
 * Calling one layer several times shares its weights (it must get inputs of
 * the shapes of its first call). A layer belongs to one graph/model only.
 * After a failed call, later calls do nothing and tc_graph_model returns
 * NULL with the first error. */
typedef struct tc_graph tc_graph;
typedef int tc_value; /* a symbolic value of a graph; negative on error */
tc_graph *tc_graph_new(void);
tc_value tc_graph_input(tc_graph *g, int ndim, const int64_t *shape, const char *name);
tc_value tc_graph_call(tc_graph *g, tc_layer *layer, int n_inputs, const tc_value *inputs);
/* Layers with several outputs (LSTM with return_state: output, state_h,
 * state_c): tc_graph_call returns output 0; tc_graph_call_multi puts the
 * first n_outputs of them in outputs (asking for more than the layer has is
 * an error) and returns how many it has, -1 on error; tc_graph_output gives
 * output k of the layer call that made v. Each output is a value like any
 * other (a model output, the input of other layers). */
int tc_graph_call_multi(tc_graph *g, tc_layer *layer, int n_inputs, const tc_value *inputs, int n_outputs,
                        tc_value *outputs);
tc_value tc_graph_output(tc_graph *g, tc_value v, int k);
tc_model *tc_graph_model(tc_graph *g, const char *name, int n_inputs, const tc_value *inputs, int n_outputs,
                         const tc_value *outputs);
/* Frees a graph that will not become a model, with its layers. */
void tc_graph_free(tc_graph *g);

/* ---- using a model -------------------------------------------------------------------- */
/* Seed for the initial weights of models built afterwards (default 42). */
void tc_nn_seed(uint64_t seed);

/* Forward pass of a model with one input and one output (an error
 * otherwise). training selects dropout and batch-norm behaviour. The result
 * is a step tensor. */
tc_tensor *tc_model_forward(tc_model *m, tc_tensor *x, bool training);
/* Models with several inputs/outputs; n_outputs may be fewer than the
 * model has (the first ones). */
tc_status tc_model_forward_multi(tc_model *m, int n_inputs, tc_tensor *const *inputs, bool training,
                                 int n_outputs, tc_tensor **outputs);
/* The output of any inner layer by name (feature extraction) of a model
 * with one input; only the layers up to it run. For a layer called several
 * times, its last call; for a layer with several outputs, output 0. */
tc_tensor *tc_model_forward_to(tc_model *m, tc_tensor *x, const char *layer_name, bool training);
/* The outputs of n named layers from one pass (only the layers up to the
 * deepest of them run): what a loss on several inner layers needs (style
 * transfer's Gram matrices). outs[i] is a step tensor; on error none is set. */
tc_status tc_model_forward_layers(tc_model *m, tc_tensor *x, int n, const char *const *layer_names, bool training,
                                  tc_tensor **outs);

/* Inference only: rewrites how the model runs forward without training
 * (the layer-API counterpart of tc_onnx_prepare_inference): a BatchNormalization
 * after a Conv1D/2D/3D or SeparableConv2D is folded into a copy of the
 * convolution's kernel and bias, and a ReLU Activation and a residual Add
 * (ResNet's blocks) after it become the convolution's fused epilogue
 * (tc_conv_params.act / .residual), where the values in between are read by
 * nothing else. The layers, their weights, summary counts, checkpoints and
 * weight files are unchanged; results differ from the plain run by float
 * rounding (about 1e-6 relative). Call it once the weights are final (after
 * loading them): the folded copies are taken now, so weights changed later
 * (loading, an optimizer) need tc_model_prepare_inference again. A forward
 * with training true discards the rewrite (use it for models that will not
 * train); a chain whose weights would record gradients, or whose inner
 * value tc_model_forward_to / forward_layers asks for, runs as it is.
 * folded / fused (may be NULL): BatchNormalizations folded, epilogues fused. */
tc_status tc_model_prepare_inference(tc_model *m, int *folded, int *fused);
/* The same with the chains' kernels stored as bfloat16 or int8 (per-channel
 * scales; activations quantised per row) instead of float: reduced-precision
 * inference, opt-in (tc_conv_weights_prepare_prec). Every Conv1D/2D/3D and
 * SeparableConv2D (pointwise kernel) called once, with no activation or its
 * own ReLU, runs through the rewrite then (alone when no chain follows it,
 * on a copy of its kernel); other activations, Dense layers, depthwise and
 * thin-input kernels stay float. The weights must not change while the
 * rewrite is in use (prepare again after loading new ones). */
tc_status tc_model_prepare_inference_prec(tc_model *m, tc_precision prec, int *folded, int *fused);
/* Undoes tc_model_prepare_inference (frees the folded copies). */
void tc_model_drop_inference(tc_model *m);
/* How many fused convolutions the forward passes ran since the rewrite (0 without one). */
int64_t tc_model_inference_fused_runs(const tc_model *m);
/* The rewrite packs each folded kernel once into the GEMM's panels
 * (tc_conv_weights_prepare; freed with the rewrite), used while no gradient
 * is recorded through the convolution. Same bits as packing per call; on
 * false the runs pack per call again (to compare). Returns how many packed
 * kernels are now in use (0 without a rewrite or when off). */
int tc_model_inference_use_packed(tc_model *m, bool on);

/* Parameters, in a stable order. Trainable ones require gradients; frozen
 * layers' parameters and non-trainable state (batch-norm moving stats)
 * do not. */
int tc_model_param_count(const tc_model *m);
tc_tensor *tc_model_param(const tc_model *m, int i);
const char *tc_model_param_name(const tc_model *m, int i);
bool tc_model_param_trainable(const tc_model *m, int i);
tc_tensor *tc_model_param_by_name(const tc_model *m, const char *name);
/* Every parameter tensor that requires a gradient (for optimizers); the
 * array is owned by the model and valid until its layers change. */
int tc_model_trainable_params(tc_model *m, tc_tensor ***params);
/* Totals as Keras' summary counts them. */
int64_t tc_model_count_params(const tc_model *m, int64_t *trainable, int64_t *non_trainable);

int tc_model_layer_count(const tc_model *m);
tc_layer *tc_model_layer_at(const tc_model *m, int i);
tc_layer *tc_model_layer(const tc_model *m, const char *name);
/* Re-reads the layers' trainable flags (call after tc_layer_set_trainable). */
void tc_model_refresh_trainable(tc_model *m);
int tc_model_input_shape(const tc_model *m, int i, int64_t *shape);
int tc_model_output_shape(const tc_model *m, int i, int64_t *shape);

/* ---- a model's graph, read back (translators such as the ONNX exporter) --------------------
 * Values are numbered: the model's graph inputs first, then the outputs of
 * each layer call in order; calls are in topological order. */
#define TC_LAYER_MAX_INPUTS 8
#define TC_LAYER_MAX_OUTPUTS 8 /* Bidirectional(LSTM, return_state): output and 4 states */
int tc_model_input_count(const tc_model *m);
int tc_model_output_count(const tc_model *m);
int tc_model_input_value(const tc_model *m, int i);   /* value id of input i, -1 if none */
int tc_model_output_value(const tc_model *m, int i);  /* value id of output i */
const char *tc_model_input_name(const tc_model *m, int i);
int tc_model_call_count(const tc_model *m);
/* Call c's layer (NULL if none); fills its input value ids (room for
 * TC_LAYER_MAX_INPUTS), their count, and its outputs: values *first_out ..
 * *first_out + *n_out - 1. */
const tc_layer *tc_model_call(const tc_model *m, int c, int *inputs, int *n_inputs, int *first_out, int *n_out);
int tc_model_value_count(const tc_model *m);
/* The value's shape without the batch axis; its rank, -1 for no such value. */
int tc_model_value_shape(const tc_model *m, int v, int64_t *shape);
/* The call whose layer made the mask value v carries (nn.h's masks), -1: none. */
int tc_model_value_mask_from(const tc_model *m, int v);

/* A Keras-like table: layer (type), output shape, parameters (and inputs for
 * functional models), then total / trainable / non-trainable counts. */
tc_status tc_model_summary(const tc_model *m, FILE *out);

const char *tc_model_name(const tc_model *m);
void tc_model_free(tc_model *m);

#ifdef __cplusplus
}
#endif
#endif
