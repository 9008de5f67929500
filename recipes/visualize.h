/* The visualize recipe's parts: keras-vis' activation-maximisation
 * objective and its optimiser (visualize_actmax.c), saliency maps
 * (visualize_saliency.c). Only the public API. */
#ifndef TC_RECIPES_VISUALIZE_H
#define TC_RECIPES_VISUALIZE_H

#include "vision.h"

/* What is maximised: output `index` of `layer` (the last axis: a class of a
 * Dense layer, a filter of a convolution). For "predictions" the softmax is
 * replaced by linear, as keras-vis advises: the logits of fc2 @ W + b. */
typedef struct {
    tc_model *m;
    const char *layer;
    int index;
    bool logits; /* layer is the softmax classifier: use its pre-activation */
} vis_target;

/* The target's output for x [1, H, W, 3] (a step tensor, on the tape). */
tc_tensor *vis_target_output(const vis_target *t, tc_tensor *x);

/* keras-vis' weights: ActivationMaximization 1, LPNorm(p = 6) 10,
 * TotalVariation(beta = 2) 10. */
typedef struct { double act_weight, lp_weight, tv_weight, p, beta; } vis_weights;
#define VIS_DEFAULT_WEIGHTS ((vis_weights){1, 10, 10, 6, 2})

/* The three terms and their weighted sum for x (recorded on the tape):
 *   act = -mean(target output[..., index])
 *   lp  = (sum |x|^p)^(1/p) / numel(x)
 *   tv  = sum over (h, w, c) of ((x[h+1,w]-x[h,w])^2 + (x[h,w+1]-x[h,w])^2)^(beta/2)
 *         (h < H-1, w < W-1), / numel(x) */
typedef struct { tc_tensor *act, *lp, *tv, *total; } vis_losses;
bool vis_objective(const vis_target *t, tc_tensor *x, const vis_weights *w, vis_losses *out);

/* One activation-maximisation run (keras-vis' Optimizer.minimize with
 * Jitter): seed image, per iteration jitter roll, gradient of the total
 * normalised by its RMS, RMSprop step (decay 0.95), roll back; keeps the
 * input of the lowest total. */
typedef struct {
    int iters;
    double jitter;          /* fraction of the image size (0.05) */
    uint64_t seed;
    const char *dump_dir;   /* non-NULL: step-0 input, gradient written as .npy (tests) */
    bool quiet;
} vis_run_opts;
typedef struct {
    double first_loss, last_loss, first_act, last_act, best_loss;
    double seconds, cpu_seconds; /* per step, wall and process CPU, the first step not counted */
    tc_tensor *image;       /* long-lived [H, W, 3]: the best input deprocessed to 0..255 */
} vis_run_result;
bool vis_maximise(const vis_target *t, int64_t size, const vis_weights *w, const vis_run_opts *o, vis_run_result *r);

/* keras-vis' deprocess_input: standardise, times 0.1, plus 0.5, clip to
 * [0, 1], times 255; [1, H, W, 3] -> long-lived [H, W, 3]. */
tc_tensor *vis_deprocess(const tc_tensor *x);

/* Saliency of output `t->index` for the preprocessed image x: the gradient
 * of the output (not negated) w.r.t. x under a ReLU backprop mode, |g|
 * maximised over channels, normalised to [0, 1] (keras-vis'
 * visualize_saliency). Long-lived [H, W]; raw (non-NULL) gets the
 * unmodified gradient [1, H, W, 3], long-lived. */
tc_tensor *vis_saliency(const vis_target *t, const tc_tensor *x, tc_relu_grad_mode mode, tc_tensor **raw);
/* The map as a jet heatmap laid over the RGB image (0..255) with alpha 0.5. */
tc_tensor *vis_overlay(const tc_tensor *rgb, const tc_tensor *map);

#endif
