/* General line plots (cairo): axes, grid, ticks, legend. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/plot.h"

#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static cairo_status_t to_file(void *closure, const unsigned char *data, unsigned int len)
{
    return fwrite(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

tc_status tc_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel, int n_lines,
                        const tc_plot_line *lines)
{
    if (!path || n_lines < 1 || !lines) return tc_error(TC_ERR_ARG, "plot_lines: NULL path or no lines");
    const int W = 800, H = 480, L = 80, R = 30, T = 50, B = 60;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < n_lines; k++)
        for (int i = 0; i < lines[k].n; i++) {
            if (!isfinite(lines[k].y[i])) continue;
            x0 = fmin(x0, lines[k].x[i]), x1 = fmax(x1, lines[k].x[i]);
            y0 = fmin(y0, lines[k].y[i]), y1 = fmax(y1, lines[k].y[i]);
        }
    if (!isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 - x0 < 1e-12) x1 = x0 + 1;
    if (y1 - y0 < 1e-12) y1 = y0 + 1;
    double pad = (y1 - y0) * 0.05;
    y0 -= pad, y1 += pad;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);
    cairo_set_line_width(cr, 1);
    for (int t = 0; t <= 5; t++) {
        double y = H - B - (H - T - B) * t / 5.0, x = L + (W - L - R) * t / 5.0;
        char lab[32];
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, L, y), cairo_line_to(cr, W - R, y);
        cairo_move_to(cr, x, T), cairo_line_to(cr, x, H - B);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(lab, sizeof lab, "%.3g", y0 + (y1 - y0) * t / 5);
        cairo_move_to(cr, 10, y + 4), cairo_show_text(cr, lab);
        snprintf(lab, sizeof lab, "%.3g", x0 + (x1 - x0) * t / 5);
        cairo_move_to(cr, x - 10, H - B + 18), cairo_show_text(cr, lab);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, L, T, W - L - R, H - T - B);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 16);
    cairo_move_to(cr, L, 30), cairo_show_text(cr, title ? title : "");
    cairo_set_font_size(cr, 13);
    cairo_move_to(cr, W / 2 - 20, H - 15), cairo_show_text(cr, xlabel ? xlabel : "");
    cairo_move_to(cr, 12, T - 10), cairo_show_text(cr, ylabel ? ylabel : "");
    for (int k = 0; k < n_lines; k++) {
        const tc_plot_line *ln = &lines[k];
        cairo_set_source_rgb(cr, ln->r, ln->g, ln->b);
        cairo_set_line_width(cr, 2);
        double dash[1] = {6};
        cairo_set_dash(cr, dash, ln->dashed ? 1 : 0, 0);
        bool pen = false;
        for (int i = 0; i < ln->n; i++) {
            if (!isfinite(ln->y[i])) {
                pen = false;
                continue;
            }
            double x = L + (W - L - R) * (ln->x[i] - x0) / (x1 - x0), y = H - B - (H - T - B) * (ln->y[i] - y0) / (y1 - y0);
            if (pen) cairo_line_to(cr, x, y);
            else cairo_move_to(cr, x, y);
            pen = true;
        }
        cairo_stroke(cr);
        cairo_set_dash(cr, dash, 0, 0);
    }
    for (int k = 0; k < n_lines; k++) { /* the legend after every line, so that none crosses it */
        const tc_plot_line *ln = &lines[k];
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_rectangle(cr, W - R - 178, T + 6 + 20 * k, 172, 18);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, ln->r, ln->g, ln->b);
        cairo_rectangle(cr, W - R - 170, T + 13 + 20 * k, 20, 4);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, W - R - 140, T + 19 + 20 * k), cairo_show_text(cr, ln->label ? ln->label : "");
    }
    cairo_destroy(cr);
    tc_atomic_file *af = tc_atomic_begin(path);
    bool ok = af && cairo_surface_write_to_png_stream(s, to_file, tc_atomic_stream(af)) == CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(s);
    if (!af) return tc_last_status();
    if (!ok) {
        tc_atomic_abort(af);
        return tc_error(TC_ERR_IO, "%s: cannot write the plot", path);
    }
    return tc_atomic_commit(af);
}
