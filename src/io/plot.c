/* PNG plots of a training history with cairo: the loss, and train and
 * validation accuracy, as in the cookbook's figures. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/train.h"

#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    const char *label;
    double r, g, b;
    size_t offset; /* of the field in tc_metrics */
} series;

static double field(const tc_metrics *m, size_t off) { return *(const double *)((const char *)m + off); }

static cairo_status_t to_buffer(void *closure, const unsigned char *data, unsigned int len)
{
    FILE *f = closure;
    return fwrite(data, 1, len, f) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* A tick spacing of 1, 2 or 5 times a power of ten giving about `want` intervals. */
static double nice_step(double range, int want)
{
    double raw = range / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static tc_status figure(const char *path, const char *title, const char *ylabel, int n, const tc_metrics *rows,
                        const series *s, int ns)
{
    const int W = 800, H = 500, L = 80, R = 30, T = 50, B = 60;
    double xmax = 1, ymin = INFINITY, ymax = -INFINITY;
    bool has[8] = {false};
    for (int i = 0; i < n; i++) {
        xmax = rows[i].step > xmax ? (double)rows[i].step : xmax;
        for (int k = 0; k < ns && k < 8; k++) {
            double v = field(&rows[i], s[k].offset);
            if (isfinite(v)) ymin = fmin(ymin, v), ymax = fmax(ymax, v), has[k] = true;
        }
    }
    if (!isfinite(ymin)) ymin = 0, ymax = 1;
    if (ymax - ymin < 1e-9) ymax = ymin + 1;
    /* axes on round numbers: the range widened to whole ticks */
    double ystep = nice_step(ymax - ymin, 5), xstep = nice_step(xmax, 5);
    ymin = floor(ymin / ystep) * ystep, ymax = ceil(ymax / ystep) * ystep;
    xmax = ceil(xmax / xstep) * xstep;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_line_width(cr, 1);
    cairo_set_font_size(cr, 12);
    cairo_text_extents_t ext;
    char lab[32];
    for (int t = 0; ymin + t * ystep <= ymax + ystep * 1e-6; t++) { /* horizontal grid and y ticks */
        double yv = ymin + t * ystep, y = H - B - (H - T - B) * (yv - ymin) / (ymax - ymin);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, L, y);
        cairo_line_to(cr, W - R, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(lab, sizeof lab, "%.4g", fabs(yv) < ystep * 1e-6 ? 0.0 : yv);
        cairo_text_extents(cr, lab, &ext);
        cairo_move_to(cr, L - 8 - ext.x_advance, y + 4); /* right-aligned against the axis */
        cairo_show_text(cr, lab);
    }
    for (int t = 0; t * xstep <= xmax + xstep * 1e-6; t++) { /* vertical grid and x ticks */
        double x = L + (W - L - R) * t * xstep / xmax;
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, x, T);
        cairo_line_to(cr, x, H - B);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(lab, sizeof lab, "%.6g", t * xstep);
        cairo_text_extents(cr, lab, &ext);
        cairo_move_to(cr, x - ext.x_advance / 2, H - B + 18);
        cairo_show_text(cr, lab);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, L, T, W - L - R, H - T - B);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 16);
    cairo_move_to(cr, L, 30);
    cairo_show_text(cr, title);
    cairo_set_font_size(cr, 13);
    cairo_text_extents(cr, "step", &ext);
    cairo_move_to(cr, L + (W - L - R) / 2 - ext.x_advance / 2, H - 15);
    cairo_show_text(cr, "step");
    cairo_move_to(cr, 12, T - 10);
    cairo_show_text(cr, ylabel);
    /* the series */
    int shown = 0;
    for (int k = 0; k < ns && k < 8; k++) {
        if (!has[k]) continue;
        shown++;
        cairo_set_source_rgb(cr, s[k].r, s[k].g, s[k].b);
        cairo_set_line_width(cr, 2);
        bool started = false;
        for (int i = 0; i < n; i++) {
            double v = field(&rows[i], s[k].offset);
            if (!isfinite(v)) continue;
            double x = L + (W - L - R) * rows[i].step / xmax, y = H - B - (H - T - B) * (v - ymin) / (ymax - ymin);
            if (!started) cairo_move_to(cr, x, y);
            else cairo_line_to(cr, x, y);
            started = true;
        }
        cairo_stroke(cr);
    }
    /* the legend on a white box with a frame, above the lines */
    cairo_set_font_size(cr, 13);
    double lw = 180, lh = 8 + 20 * shown, lx = W - R - lw - 10, ly = T + 10;
    if (shown) {
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_rectangle(cr, lx, ly, lw, lh);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
    }
    for (int k = 0, row = 0; k < ns && k < 8; k++) {
        if (!has[k]) continue;
        cairo_set_source_rgb(cr, s[k].r, s[k].g, s[k].b);
        cairo_rectangle(cr, lx + 10, ly + 12 + 20 * row, 22, 4);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, lx + 40, ly + 19 + 20 * row);
        cairo_show_text(cr, s[k].label);
        row++;
    }
    cairo_destroy(cr);
    tc_atomic_file *af = tc_atomic_begin(path);
    cairo_status_t st = af ? cairo_surface_write_to_png_stream(surf, to_buffer, tc_atomic_stream(af)) : CAIRO_STATUS_WRITE_ERROR;
    cairo_surface_destroy(surf);
    if (!af) return tc_last_status();
    if (st != CAIRO_STATUS_SUCCESS) {
        tc_atomic_abort(af);
        return tc_error(TC_ERR_IO, "%s: cannot write the plot", path);
    }
    return tc_atomic_commit(af);
}

tc_status tc_plot_metrics(const char *prefix, int n, const tc_metrics *rows, const char *title)
{
    if (!prefix || (n && !rows)) return tc_error(TC_ERR_ARG, "plot_metrics: NULL argument");
    char path[4200], t[256];
    series loss[] = {{"training loss", 0.12, 0.47, 0.71, offsetof(tc_metrics, loss)},
                     {"validation loss", 1.0, 0.5, 0.05, offsetof(tc_metrics, val_loss)}};
    series acc[] = {{"training accuracy", 0.12, 0.47, 0.71, offsetof(tc_metrics, accuracy)},
                    {"validation accuracy", 1.0, 0.5, 0.05, offsetof(tc_metrics, val_accuracy)}};
    snprintf(path, sizeof path, "%s_loss.png", prefix);
    snprintf(t, sizeof t, "%s: loss", title ? title : "training");
    tc_status s = figure(path, t, "loss", n, rows, loss, 2);
    if (s) return s;
    snprintf(path, sizeof path, "%s_accuracy.png", prefix);
    snprintf(t, sizeof t, "%s: accuracy", title ? title : "training");
    return figure(path, t, "accuracy", n, rows, acc, 2);
}
