/* Images in a row with a label under each (cairo), written atomically. */
#include "../core/internal.h"
#include "tensorcook/plot.h"

#include <cairo.h>

static cairo_status_t to_stream(void *closure, const unsigned char *data, unsigned int len)
{
    return fwrite(data, 1, len, (FILE *)closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static unsigned char byte_of(tc_scalar v) { return v <= 0 ? 0 : v >= 255 ? 255 : (unsigned char)(v + 0.5f); }

tc_status tc_plot_image_row(const char *path, int n, const tc_tensor *const *images, const char *const *labels)
{
    if (!path || n < 1 || !images) return tc_error(TC_ERR_ARG, "plot_image_row: no path or no images");
    enum { PAD = 8, LABEL_H = 24 };
    int width = PAD, height = 0;
    for (int k = 0; k < n; k++) {
        const tc_tensor *im = images[k];
        if (!im || im->ndim != 3 || im->shape[2] != 3 || im->shape[0] > 8192 || im->shape[1] > 8192)
            return tc_error(TC_ERR_SHAPE, "%s: image %d is not [H, W, 3] (at most 8192 a side)", path, k);
        width += (int)im->shape[1] + PAD;
        if (im->shape[0] > height) height = (int)im->shape[0];
    }
    height += 2 * PAD + LABEL_H;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return tc_error(TC_ERR_MEMORY, "%s: cannot make a %dx%d picture", path, width, height);
    }
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_surface_flush(surf);
    unsigned char *px = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    int x0 = PAD;
    for (int k = 0; k < n; k++) {
        const tc_tensor *im = images[k];
        int64_t h = im->shape[0], w = im->shape[1];
        const tc_scalar *d = im->data; /* images are contiguous long-lived or step tensors */
        for (int64_t r = 0; r < h; r++) {
            uint32_t *row = (uint32_t *)(px + (size_t)(PAD + r) * (size_t)stride) + x0;
            for (int64_t c = 0; c < w; c++) {
                const tc_scalar *p = d + (r * w + c) * 3;
                row[c] = (uint32_t)byte_of(p[0]) << 16 | (uint32_t)byte_of(p[1]) << 8 | byte_of(p[2]);
            }
        }
        x0 += (int)w + PAD;
    }
    cairo_surface_mark_dirty(surf);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 13);
    x0 = PAD;
    for (int k = 0; k < n; k++) {
        int w = (int)images[k]->shape[1];
        if (labels && labels[k]) {
            cairo_text_extents_t e;
            cairo_text_extents(cr, labels[k], &e);
            double tx = x0 + (w - e.width) / 2 - e.x_bearing;
            cairo_move_to(cr, tx < x0 ? x0 : tx, height - PAD - 6);
            cairo_show_text(cr, labels[k]);
        }
        x0 += w + PAD;
    }
    cairo_destroy(cr);
    tc_atomic_file *af = tc_atomic_begin(path);
    cairo_status_t st = af ? cairo_surface_write_to_png_stream(surf, to_stream, tc_atomic_stream(af)) : CAIRO_STATUS_WRITE_ERROR;
    cairo_surface_destroy(surf);
    if (!af) return tc_last_status();
    if (st != CAIRO_STATUS_SUCCESS) {
        tc_atomic_abort(af);
        return tc_error(TC_ERR_IO, "%s: cannot write the picture", path);
    }
    return tc_atomic_commit(af);
}
