/* WaveNet (van den Oord et al. 2016) on the ops API, with Paine et al.'s
 * fast generation, and the non-causal encoder of an NSynth-style
 * autoencoder (Engel et al. 2017).
 *
 * The network, for mu-law class ids x (256 classes):
 *   h_0 = E[x]                                   (a 1x1 convolution of the one-hot input)
 *   per layer l (dilation d = 2^(l mod L), B blocks of L layers):
 *     a  = causal dilated conv(h_l, kernel 2, dilation d) [+ G_l[gc]] [+ up(lc) C_l]
 *     z  = tanh(a[:D]) * sigmoid(a[D:])           (gated unit)
 *     h_{l+1} = h_l + z W_res + b_res             (not on the last layer: nothing reads it)
 *     skip += z W_skip + b_skip
 *   logits = relu(relu(skip) W_1 + b_1) W_2 + b_2 (256-way softmax)
 * gc is a global condition id (speaker, instrument), lc a feature sequence
 * at 1/hop of the sample rate, upsampled by repetition. The receptive field
 * is B (2^L - 1) + 1 samples. Gradients come from the tape. */
#ifndef TENSORCOOK_WAVENET_H
#define TENSORCOOK_WAVENET_H

#include <stdio.h>

#include "core.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int blocks;             /* B: default 2 */
    int layers;             /* L per block: default 10 (dilations 1 .. 512) */
    int residual_channels;  /* R: default 64 */
    int dilation_channels;  /* D (gate width): default R */
    int skip_channels;      /* S: default 2R */
    int output_hidden;      /* width of the first output 1x1: default S */
    int classes;            /* quantisation levels: default 256 */
    int global_classes;     /* > 0: global conditioning on an id in [0, global_classes) */
    int local_channels;     /* > 0: local conditioning features of this width */
    int local_hop;          /* samples per local-conditioning frame (required with local_channels) */
} tc_wavenet_opts;

typedef struct tc_wavenet tc_wavenet;

/* Weights drawn from seed (Glorot-uniform kernels, zero biases, uniform
 * +-0.05 embeddings); NULL + error on bad options. */
tc_wavenet *tc_wavenet_new(const tc_wavenet_opts *o, uint64_t seed);
void tc_wavenet_free(tc_wavenet *w);
const tc_wavenet_opts *tc_wavenet_options(const tc_wavenet *w); /* with defaults filled in */
int64_t tc_wavenet_receptive_field(const tc_wavenet *w);

/* Parameters in a stable order, named "embedding/embeddings",
 * "block0_layer3/dilated_kernel", "postprocess2/bias"... (all require gradients). */
int tc_wavenet_param_count(const tc_wavenet *w);
tc_tensor *tc_wavenet_param(const tc_wavenet *w, int i);
const char *tc_wavenet_param_name(const tc_wavenet *w, int i);
tc_tensor *tc_wavenet_param_by_name(const tc_wavenet *w, const char *name);
tc_tensor *const *tc_wavenet_params(const tc_wavenet *w);
int64_t tc_wavenet_count_params(const tc_wavenet *w);

/* Logits [N, T, classes] for ids [N, T] (class ids as values). gc: ids [N]
 * or NULL; lc: [N, ceil(T / hop), local_channels] or NULL (both as the
 * options say). Step tensors, recorded on the tape. */
tc_tensor *tc_wavenet_forward(tc_wavenet *w, tc_tensor *ids, tc_tensor *gc, tc_tensor *lc);
/* Teacher forcing: ids [N, T + 1]; inputs ids[:, :T] predict ids[:, 1:];
 * the mean cross-entropy (nats per sample) over the last n_target positions
 * (those that see a whole receptive field when T >= receptive field - 1 + n_target). */
tc_tensor *tc_wavenet_loss(tc_wavenet *w, tc_tensor *ids, tc_tensor *gc, tc_tensor *lc, int64_t n_target);

/* A Keras-like table of the layers (output shapes per sample, parameters)
 * and the totals. */
tc_status tc_wavenet_summary(const tc_wavenet *w, FILE *out, int64_t length);

/* Parameters into / out of a checkpoint under prefix + name (prefix may be
 * NULL). get checks every name and shape first (one error listing the
 * mismatches) and changes nothing on error. */
tc_status tc_wavenet_checkpoint_put(tc_checkpoint *ck, const tc_wavenet *w, const char *prefix);
tc_status tc_wavenet_checkpoint_get(const tc_checkpoint *ck, tc_wavenet *w, const char *prefix);

/* ---- generation -------------------------------------------------------------
 * A generator copies the weights once into the layout of the per-sample
 * step (row-vector products of core.h's gemv plans, fixed-length gate
 * loops): no tape, no arena, no allocation per sample. Rebuild it after
 * the weights change. */
typedef struct tc_wavenet_generator tc_wavenet_generator;
tc_wavenet_generator *tc_wavenet_generator_new(const tc_wavenet *w);
void tc_wavenet_generator_free(tc_wavenet_generator *g);

typedef struct {
    int64_t n_prime;         /* ids fed first without sampling (e.g. silence), may be 0 */
    const int *prime;        /* n_prime ids; NULL: class 128 (mu-law silence) */
    int64_t n;               /* samples to draw after the prime */
    double temperature;      /* softmax temperature: default 1 (0 < t) */
    int gc;                  /* the global condition id (when the model has one) */
    const tc_tensor *lc;     /* [frames, local_channels] covering the n_prime + n - 1 inputs */
    bool naive;              /* re-run the whole receptive field for every sample */
} tc_wavenet_gen_opts;

/* Draws o->n ids into out (one uniform draw of rng per sample; the first
 * input after the prime is its last id, 128 without prime). The fast
 * method keeps, per layer, a queue of its last d inputs (d its dilation),
 * so a sample costs O(layers); the naive method recomputes every layer
 * over the receptive field from the kept history of ids, O(receptive
 * field x layers). Both do the same arithmetic for each value, so they draw
 * the same ids for the same seed. */
tc_status tc_wavenet_generate(tc_wavenet_generator *g, const tc_wavenet_gen_opts *o, tc_rng *rng, int *out);

/* Teacher-forced logits of the fast step for ids [T] (gc, lc as above),
 * into logits [T, classes]: the per-sample step checked against the tape's
 * forward. */
tc_status tc_wavenet_generator_logits(tc_wavenet_generator *g, int64_t T, const int *ids, int gc,
                                      const tc_tensor *lc, tc_scalar *logits);

/* ---- the NSynth-style encoder -------------------------------------------------
 * Non-causal: x (mu-law-expanded samples in [-1, 1], [N, T, 1]) -> 1x1 to R
 * -> per layer (dilations 1, 2, 4 ... per block): h += 1x1(relu(conv3(relu(h), dilation d)))
 * -> 1x1 to the code width -> average pool over hop samples: code [N, T / hop, C].
 * T must be a multiple of hop. */
typedef struct {
    int blocks;          /* default 1 */
    int layers;          /* per block: default 8 */
    int channels;        /* R: default 32 */
    int code_channels;   /* default 16 */
    int hop;             /* default 512 */
} tc_wavenet_encoder_opts;

typedef struct tc_wavenet_encoder tc_wavenet_encoder;
tc_wavenet_encoder *tc_wavenet_encoder_new(const tc_wavenet_encoder_opts *o, uint64_t seed);
void tc_wavenet_encoder_free(tc_wavenet_encoder *e);
const tc_wavenet_encoder_opts *tc_wavenet_encoder_options(const tc_wavenet_encoder *e);
int tc_wavenet_encoder_param_count(const tc_wavenet_encoder *e);
tc_tensor *tc_wavenet_encoder_param(const tc_wavenet_encoder *e, int i);
const char *tc_wavenet_encoder_param_name(const tc_wavenet_encoder *e, int i);
tc_tensor *tc_wavenet_encoder_param_by_name(const tc_wavenet_encoder *e, const char *name);
int64_t tc_wavenet_encoder_count_params(const tc_wavenet_encoder *e);
tc_tensor *tc_wavenet_encode(tc_wavenet_encoder *e, tc_tensor *x);
tc_status tc_wavenet_encoder_summary(const tc_wavenet_encoder *e, FILE *out, int64_t length);
tc_status tc_wavenet_encoder_checkpoint_put(tc_checkpoint *ck, const tc_wavenet_encoder *e, const char *prefix);
tc_status tc_wavenet_encoder_checkpoint_get(const tc_checkpoint *ck, tc_wavenet_encoder *e, const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
