/* Line plots to PNG (cairo), for recipes that chart series. */
#ifndef TENSORCOOK_PLOT_H
#define TENSORCOOK_PLOT_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *label;
    int n;
    const double *x, *y;  /* n points; NaN y values leave gaps */
    double r, g, b;       /* colour */
    bool dashed;
} tc_plot_line;

/* Written atomically; an error names the file. */
tc_status tc_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel, int n_lines,
                        const tc_plot_line *lines);
/* Spectrogram of n samples at rate Hz (STFT, Hann window 512, hop 128, dB
 * over an 80 dB range), written atomically. Needs n >= 512. */
tc_status tc_plot_spectrogram(const char *path, const char *title, int64_t n, const tc_scalar *x, int rate);

/* A heatmap of rows x cols values in [0, 1] (row-major; darker is larger),
 * with labels (either may be NULL), e.g. attention weights of target words
 * (rows) over source words (columns). Written atomically. */
tc_status tc_plot_heatmap(const char *path, const char *title, int rows, int cols, const float *values,
                          const char *const *row_labels, const char *const *col_labels);

/* n images [H, W, 3] (contiguous, RGB 0..255, any sizes) side by side on white, each
 * with its label (may be NULL) drawn under it, as one PNG written
 * atomically (activation maximisation's results, saliency maps). */
tc_status tc_plot_image_row(const char *path, int n, const tc_tensor *const *images, const char *const *labels);

#ifdef __cplusplus
}
#endif
#endif
