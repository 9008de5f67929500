/* Heatmaps (cairo): a matrix of values in [0, 1] as grey cells with row
 * and column labels, e.g. attention weights (target words x source words). */
#include "../core/internal.h"
#include "tensorcook/plot.h"

#include <cairo.h>
#include <math.h>
#include <stdlib.h>

static cairo_status_t to_file(void *closure, const unsigned char *data, unsigned int len)
{
    return fwrite(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

tc_status tc_plot_heatmap(const char *path, const char *title, int rows, int cols, const float *values,
                          const char *const *row_labels, const char *const *col_labels)
{
    if (!path || rows < 1 || cols < 1 || !values || rows > 1000 || cols > 1000)
        return tc_error(TC_ERR_ARG, "plot_heatmap: need 1..1000 rows and columns of values");
    const int cell = 28, L = 160, T = 150, R = 30, B = 30;
    int W = L + cols * cell + R, H = T + rows * cell + B;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double v = values[(size_t)r * (size_t)cols + (size_t)c];
            v = isfinite(v) ? fmin(1.0, fmax(0.0, v)) : 0.0;
            cairo_set_source_rgb(cr, 1 - v, 1 - v, 1 - v); /* 1: black, 0: white */
            cairo_rectangle(cr, L + c * cell, T + r * cell, cell, cell);
            cairo_fill(cr);
        }
    cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, L, T, cols * cell, rows * cell);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 12);
    for (int r = 0; row_labels && r < rows; r++) {
        cairo_text_extents_t e;
        const char *lab = row_labels[r] ? row_labels[r] : "";
        cairo_text_extents(cr, lab, &e);
        cairo_move_to(cr, L - 6 - e.x_advance, T + r * cell + cell / 2 + 4);
        cairo_show_text(cr, lab);
    }
    for (int c = 0; col_labels && c < cols; c++) { /* source words written upwards */
        cairo_save(cr);
        cairo_move_to(cr, L + c * cell + cell / 2 + 4, T - 6);
        cairo_rotate(cr, -M_PI / 2);
        cairo_show_text(cr, col_labels[c] ? col_labels[c] : "");
        cairo_restore(cr);
    }
    cairo_set_font_size(cr, 14);
    cairo_move_to(cr, 10, 20);
    cairo_show_text(cr, title ? title : "");
    cairo_destroy(cr);
    /* one guarantee for every writer (core/file.c): temporary file, fsync, rename */
    tc_atomic_file *af = tc_atomic_begin(path);
    bool ok = af && cairo_surface_write_to_png_stream(s, to_file, tc_atomic_stream(af)) == CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(s);
    if (!af) return tc_last_status(); /* tc_atomic_begin said why */
    if (!ok) {
        tc_atomic_abort(af);
        return tc_error(TC_ERR_IO, "%s: cannot write the heatmap", path);
    }
    return tc_atomic_commit(af);
}
