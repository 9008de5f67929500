/* The style recipe's parts: the cookbook's (Gatys et al.) losses on VGG19
 * with average pooling, and the Adam loop on the image (style_loss.c).
 * Only the public API. */
#ifndef TC_RECIPES_STYLE_H
#define TC_RECIPES_STYLE_H

#include "common.h"

#define STYLE_N_LAYERS 5
/* The cookbook's layers and weights (MatConvNet names in comments). */
extern const char *const STYLE_CONTENT_LAYER;                 /* conv4_2 */
extern const char *const STYLE_LAYERS[STYLE_N_LAYERS];        /* conv1_1 .. conv5_1 */
extern const double STYLE_LAYER_WEIGHTS[STYLE_N_LAYERS];      /* 0.5, 1, 1.5, 3, 4 */
#define STYLE_BETA 5.0    /* content emphasis */
#define STYLE_ALPHA 100.0 /* style emphasis */
#define STYLE_NOISE_RATIO 0.6
/* The mean the cookbook subtracts (RGB). */
extern const double STYLE_MEAN_RGB[3];

/* What the image is compared with: conv4_2 of the content image and the
 * Gram matrices of the style image, computed once (long-lived). */
typedef struct {
    tc_model *m; /* VGG19 conv part with avg_pool, built at the content size, frozen */
    tc_tensor *content;               /* P: [1, H4, W4, 512] */
    tc_tensor *gram[STYLE_N_LAYERS];  /* A_l = F_l^T F_l: [N_l, N_l] */
} style_targets;
bool style_targets_init(style_targets *t, tc_model *m, tc_tensor *content_x, tc_tensor *style_x);
void style_targets_free(style_targets *t);

/* The cookbook's losses of image x [1, H, W, 3] (mean subtracted), on the tape:
 *   content = 1/(4 N M) sum (F - P)^2                     at conv4_2
 *   style   = sum_l w_l 1/(4 N_l^2 M_l^2) sum (G_l - A_l)^2, G_l = F_l^T F_l
 *   total   = 5 content + 100 style
 * (N filters, M = height x width of the layer). */
typedef struct { tc_tensor *content, *style, *total; } style_losses;
bool style_loss(const style_targets *t, tc_tensor *x, style_losses *out);

/* [H, W, 3] RGB 0..255 -> [1, H, W, 3] minus the mean (long-lived). */
tc_tensor *style_preprocess(const tc_tensor *rgb);
/* The seed's save_image: plus the mean, clipped to 0..255, truncated as
 * astype('uint8'); written atomically (PNG or JPEG by the extension). */
bool style_save_image(const char *path, const tc_tensor *x);

typedef struct {
    int iters;
    uint64_t seed;
    const char *out_dir;   /* OUT/<it>.png every 100 iterations, OUT/final.png */
    const char *dump_dir;  /* non-NULL: the inputs, the step-0 losses, gradient and the step-1 image as .npy */
    bool quiet;
} style_run_opts;
typedef struct {
    double first_loss, last_loss, seconds, cpu_seconds; /* per iteration after the first: wall, process CPU */
    int n;                                              /* rows of the history */
    double *total, *content, *style;                    /* malloc'd, n each (weighted: 5 content, 100 style) */
} style_run_result;
/* The cookbook's loop: start from 0.6 uniform(-20, 20) + 0.4 content, Adam
 * (lr 2.0) on the image; a line per step on stdout. */
bool style_run(const style_targets *t, const tc_tensor *content_x, const style_run_opts *o, style_run_result *r);
void style_run_result_free(style_run_result *r);

#endif
