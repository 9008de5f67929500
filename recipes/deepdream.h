/* The DeepDream recipe's algorithm (deepdream_core.c), as the seed's
 * render_deepdream and calc_grad_tiled do it, on any model that gives a
 * layer's output for an image. Only the public API. */
#ifndef TC_RECIPES_DEEPDREAM_H
#define TC_RECIPES_DEEPDREAM_H

#include "common.h"

/* What is maximised: the mean of a layer's output (or of one channel of it,
 * the last axis) for an image x [1, h, w, 3] of RGB values 0..255; layer()
 * applies the model's own preprocessing and returns the layer's output on
 * the tape (NULL with tc_last_error on failure). */
typedef struct {
    tc_tensor *(*layer)(void *ctx, tc_tensor *x);
    void *ctx;
    const char *layer_name; /* for messages */
    int channel;            /* -1: the whole layer */
} dream_objective;

typedef struct {
    int octaves;            /* 4 */
    double octave_scale;    /* 1.4 */
    int iters;              /* per octave: 10 */
    double step;            /* 1.5, divided by the mean |gradient| */
    int64_t tile;           /* 512 */
    uint64_t seed;          /* of the random rolls */
    const char *out_dir;    /* octave_K.png after each octave (NULL: none) */
    const char *dump_dir;   /* non-NULL: the first octave's start image, rolls, first gradient and
                               result as .npy (the PyTorch check) */
    bool quiet;
} dream_opts;

typedef struct {
    double first_loss, last_loss; /* the objective of the start and of the final image (tiled, no roll) */
    double seconds_per_iteration, cpu_seconds_per_iteration; /* wall and process CPU, the first step not counted */
    int iterations;
} dream_result;

/* The seed's calc_grad_tiled: img [H, W, 3] (long-lived) rolled by sx
 * columns and sy rows, the gradient of the objective computed tile by tile
 * (tiles of `tile` starting at 0, tile, ... below max(H - tile/2, tile), so
 * the seed's uncovered border stays uncovered), rolled back into grad
 * (long-lived, same shape). obj (optional): the objective averaged over the
 * tiles by their pixel counts. */
bool dream_grad_tiled(const dream_objective *o, const tc_tensor *img, int64_t tile, int64_t sx, int64_t sy,
                      tc_tensor *grad, double *obj);
/* TF1's tf.image.resize_bilinear (align_corners and half-pixel centres off:
 * source = dest * in/out, the upper neighbour clamped), [H, W, C] -> new
 * long-lived [h, w, C]. */
tc_tensor *dream_resize(const tc_tensor *img, int64_t h, int64_t w);
/* The objective once on the smallest octave of img: the model, the layer,
 * the channel and the sizes all work (before any output is made). */
bool dream_probe(const dream_objective *o, const tc_tensor *img, const dream_opts *opt);
/* The seed's render_deepdream on *img (long-lived [H, W, 3], 0..255),
 * replaced by the result. */
bool dream_render(const dream_objective *o, tc_tensor **img, const dream_opts *opt, dream_result *r);

#endif
