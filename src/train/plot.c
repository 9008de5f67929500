/* PNG plots of a training history with cairo: the loss, and train and
 * validation accuracy, as in the cookbook's figures. */
#include "../core/internal.h"
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

static tc_status figure(const char *path, const char *title, const char *ylabel, int n, const tc_metrics *rows,
                        const series *s, int ns)
{
    const int W = 800, H = 500, L = 80, R = 30, T = 50, B = 60;
    double xmax = 1, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < n; i++) {
        xmax = rows[i].step > xmax ? (double)rows[i].step : xmax;
        for (int k = 0; k < ns; k++) {
            double v = field(&rows[i], s[k].offset);
            if (isfinite(v)) ymin = fmin(ymin, v), ymax = fmax(ymax, v);
        }
    }
    if (!isfinite(ymin)) ymin = 0, ymax = 1;
    if (ymax - ymin < 1e-9) ymax = ymin + 1;
    double pad = (ymax - ymin) * 0.05;
    ymin -= pad, ymax += pad;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    /* axes, grid and ticks */
    cairo_set_line_width(cr, 1);
    cairo_set_font_size(cr, 12);
    for (int t = 0; t <= 5; t++) {
        double yv = ymin + (ymax - ymin) * t / 5, y = H - B - (H - T - B) * (double)t / 5;
        double xv = xmax * t / 5, x = L + (W - L - R) * (double)t / 5;
        char lab[32];
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, L, y);
        cairo_line_to(cr, W - R, y);
        cairo_move_to(cr, x, T);
        cairo_line_to(cr, x, H - B);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(lab, sizeof lab, "%.3g", yv);
        cairo_move_to(cr, 10, y + 4);
        cairo_show_text(cr, lab);
        snprintf(lab, sizeof lab, "%.0f", xv);
        cairo_move_to(cr, x - 10, H - B + 18);
        cairo_show_text(cr, lab);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, L, T, W - L - R, H - T - B);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 16);
    cairo_move_to(cr, L, 30);
    cairo_show_text(cr, title);
    cairo_set_font_size(cr, 13);
    cairo_move_to(cr, W / 2 - 20, H - 15);
    cairo_show_text(cr, "step");
    cairo_move_to(cr, 12, T - 10);
    cairo_show_text(cr, ylabel);
    /* series and legend */
    for (int k = 0; k < ns; k++) {
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
        cairo_rectangle(cr, W - R - 170, T + 12 + 20 * k, 20, 4);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, W - R - 140, T + 18 + 20 * k);
        cairo_show_text(cr, s[k].label);
    }
    cairo_destroy(cr);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    cairo_status_t st = f ? cairo_surface_write_to_png_stream(surf, to_buffer, f) : CAIRO_STATUS_WRITE_ERROR;
    cairo_surface_destroy(surf);
    bool ok = f && st == CAIRO_STATUS_SUCCESS;
    if (f) ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return tc_error(TC_ERR_IO, "%s: cannot write the plot", path);
    }
    return TC_OK;
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
