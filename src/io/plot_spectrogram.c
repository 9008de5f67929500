/* Spectrogram of a sound as a PNG (cairo): short-time Fourier transform with
 * a Hann window of 512 samples every 128, magnitudes in dB over an 80 dB
 * range, time across and frequency up. */
#include "tensorcook/plot.h"

#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { WIN = 512, HOP = 128, BINS = WIN / 2 + 1 };

static cairo_status_t to_file(void *closure, const unsigned char *data, unsigned int len)
{
    return fwrite(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* black -> purple -> orange -> pale yellow, v in [0, 1] */
static uint32_t colour(double v)
{
    static const double stops[5][3] = {{0, 0, 0.02}, {0.32, 0.07, 0.5}, {0.72, 0.2, 0.45}, {0.98, 0.55, 0.2}, {0.99, 0.99, 0.75}};
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    v = floor(v * 20) / 20; /* 20 levels of 4 dB: enough to read, and the PNG stays small */
    double p = v * 4;
    int i = p >= 4 ? 3 : (int)p;
    double f = p - i, c[3];
    for (int k = 0; k < 3; k++) c[k] = stops[i][k] + f * (stops[i + 1][k] - stops[i][k]);
    return 0xFF000000u | (uint32_t)(c[0] * 255) << 16 | (uint32_t)(c[1] * 255) << 8 | (uint32_t)(c[2] * 255);
}

tc_status tc_plot_spectrogram(const char *path, const char *title, int64_t n, const tc_scalar *x, int rate)
{
    if (!path || !x || n < WIN || rate < 1)
        return tc_error(TC_ERR_ARG, "plot_spectrogram %s: needs at least %d samples and a rate", path ? path : "(null)", WIN);
    int64_t frames = (n - WIN) / HOP + 1;
    if (frames > 4096) frames = 4096; /* the figure is 700 pixels wide: more frames add nothing */
    double *db = malloc(sizeof(double) * (size_t)(frames * BINS));
    double *cs = malloc(sizeof(double) * WIN * 2), *win = malloc(sizeof(double) * WIN);
    uint32_t *pix = malloc(sizeof(uint32_t) * (size_t)(frames * BINS));
    if (!db || !cs || !win || !pix) {
        free(db), free(cs), free(win), free(pix);
        return tc_error(TC_ERR_MEMORY, "plot_spectrogram %s: out of memory", path);
    }
    for (int i = 0; i < WIN; i++) {
        cs[2 * i] = cos(2 * M_PI * i / WIN), cs[2 * i + 1] = -sin(2 * M_PI * i / WIN);
        win[i] = 0.5 - 0.5 * cos(2 * M_PI * i / WIN);
    }
    int64_t step = ((n - WIN) / HOP + 1 + frames - 1) / frames; /* frames spread over the whole sound */
    double top = -INFINITY;
    for (int64_t f = 0; f < frames; f++) {
        const tc_scalar *s = x + f * step * HOP;
        for (int k = 0; k < BINS; k++) {
            double re = 0, im = 0;
            for (int i = 0, j = 0; i < WIN; i++, j = (j + k) % WIN) { /* j = i k mod WIN */
                double v = s[i] * win[i];
                re += v * cs[2 * j], im += v * cs[2 * j + 1];
            }
            double d = 10 * log10(re * re + im * im + 1e-20);
            db[f * BINS + k] = d;
            if (d > top) top = d;
        }
    }
    for (int64_t f = 0; f < frames; f++)
        for (int k = 0; k < BINS; k++) pix[(int64_t)(BINS - 1 - k) * frames + f] = colour((db[f * BINS + k] - top + 80) / 80);
    free(db), free(cs), free(win);

    const int W = 800, H = 480, L = 70, R = 20, T = 40, B = 55;
    cairo_surface_t *img = cairo_image_surface_create_for_data((unsigned char *)pix, CAIRO_FORMAT_ARGB32, (int)frames, BINS,
                                                               (int)frames * 4);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_save(cr);
    cairo_translate(cr, L, T);
    cairo_scale(cr, (double)(W - L - R) / frames, (double)(H - T - B) / BINS);
    cairo_rectangle(cr, 0, 0, (double)frames, BINS);
    cairo_clip(cr);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD); /* no fade at the edges */
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 13);
    double seconds = (double)n / rate, nyq = rate / 2.0;
    char lab[64];
    for (int i = 0; i <= 5; i++) {
        double px = L + (W - L - R) * i / 5.0;
        snprintf(lab, sizeof lab, "%.2f", seconds * i / 5);
        cairo_move_to(cr, px - 12, H - B + 18), cairo_show_text(cr, lab);
        double py = H - B - (H - T - B) * i / 4.0;
        snprintf(lab, sizeof lab, "%.1f", nyq * i / 4 / 1000);
        cairo_move_to(cr, L - 35, py + 4), cairo_show_text(cr, lab);
    }
    cairo_move_to(cr, W / 2.0 - 30, H - 12), cairo_show_text(cr, "time (s)");
    cairo_save(cr);
    cairo_move_to(cr, 18, H / 2.0 + 40), cairo_rotate(cr, -M_PI / 2), cairo_show_text(cr, "frequency (kHz)");
    cairo_restore(cr);
    cairo_set_font_size(cr, 15);
    cairo_move_to(cr, L, 25), cairo_show_text(cr, title ? title : "");
    cairo_destroy(cr);
    /* one guarantee for every writer (core/file.c): temporary file, fsync, rename */
    tc_atomic_file *af = tc_atomic_begin(path);
    bool ok = af && cairo_surface_write_to_png_stream(s, to_file, tc_atomic_stream(af)) == CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(s);
    cairo_surface_destroy(img);
    free(pix);
    if (!af) return tc_last_status(); /* tc_atomic_begin said why */
    if (!ok) {
        tc_atomic_abort(af);
        return tc_error(TC_ERR_IO, "%s: cannot write the spectrogram", path);
    }
    return tc_atomic_commit(af);
}
