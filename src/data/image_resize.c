/* Image resizing equal to Pillow's Image.resize on 8-bit images (Pillow's
 * src/_imaging.c _resize, src/libImaging/Geometry.c ImagingScaleAffine and
 * src/libImaging/Resample.c), reproduced step for step because Keras'
 * load_img resizes with Pillow and models see those exact pixels:
 *  - NEAREST: source x = (int)(x0 + k*a) with x0 = a/2, a = in/out, the
 *    position accumulated in double by repeated addition, as Pillow does;
 *  - BILINEAR: a separable triangle filter whose support widens with the
 *    scale when shrinking (support = scale, not 1: a box-like average over
 *    every source pixel under the output pixel), coefficients normalised to
 *    22-bit fixed point, the horizontal pass first (over only the rows the
 *    vertical pass needs), rounded and clipped to 8 bits after each pass. */
#include "../core/internal.h"
#include "tensorcook/image.h"

#include <math.h>
#include <stdlib.h>

#define PRECISION_BITS (32 - 8 - 2)

static inline unsigned char clip8(int v)
{
    v >>= PRECISION_BITS;
    return v < 0 ? 0 : v > 255 ? 255 : (unsigned char)v;
}

/* Pillow's precompute_coeffs for the bilinear filter (box [0, in_size]),
 * then normalize_coeffs_8bpc. Returns ksize; bounds and kk are malloc'd. */
static int coeffs(int in_size, int out_size, int **boundsp, int **kkp)
{
    float in0 = 0, in1 = (float)in_size;
    double scale = (double)(in1 - in0) / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *pre = malloc(sizeof *pre * (size_t)out_size * (size_t)ksize);
    int *bounds = malloc(sizeof *bounds * 2 * (size_t)out_size);
    int *kk = malloc(sizeof *kk * (size_t)out_size * (size_t)ksize);
    if (!pre || !bounds || !kk) {
        free(pre);
        free(bounds);
        free(kk);
        return 0;
    }
    double inv = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale, ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double *k = &pre[(size_t)xx * (size_t)ksize];
        int x = 0;
        for (; x < xmax; x++) {
            double t = (x + xmin - center + 0.5) * inv;
            if (t < 0.0) t = -t;
            double w = t < 1.0 ? 1.0 - t : 0.0;
            k[x] = w;
            ww += w;
        }
        if (ww != 0.0)
            for (x = 0; x < xmax; x++) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0;
        bounds[xx * 2] = xmin;
        bounds[xx * 2 + 1] = xmax;
    }
    for (size_t i = 0; i < (size_t)out_size * (size_t)ksize; i++)
        kk[i] = pre[i] < 0 ? (int)(-0.5 + pre[i] * (1 << PRECISION_BITS)) : (int)(0.5 + pre[i] * (1 << PRECISION_BITS));
    free(pre);
    *boundsp = bounds;
    *kkp = kk;
    return ksize;
}

/* in: h x w x c bytes -> out: h x ow x c, rows [row0, row0 + h) of in */
static void horizontal(const unsigned char *in, int w, int c, int row0, int h, int ow, int ksize, const int *bounds,
                       const int *kk, unsigned char *out)
{
    for (int y = 0; y < h; y++) {
        const unsigned char *line = in + ((size_t)(y + row0) * (size_t)w) * (size_t)c;
        for (int xx = 0; xx < ow; xx++) {
            int xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1];
            const int *k = &kk[(size_t)xx * (size_t)ksize];
            for (int ch = 0; ch < c; ch++) {
                int ss = 1 << (PRECISION_BITS - 1);
                for (int x = 0; x < xmax; x++) ss += line[(size_t)(x + xmin) * (size_t)c + (size_t)ch] * k[x];
                out[((size_t)y * (size_t)ow + (size_t)xx) * (size_t)c + (size_t)ch] = clip8(ss);
            }
        }
    }
}

static void vertical(const unsigned char *in, int w, int c, int oh, int ksize, const int *bounds, const int *kk,
                     unsigned char *out)
{
    for (int yy = 0; yy < oh; yy++) {
        int ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1];
        const int *k = &kk[(size_t)yy * (size_t)ksize];
        for (int xx = 0; xx < w * c; xx++) {
            int ss = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < ymax; y++) ss += in[(size_t)(y + ymin) * (size_t)w * (size_t)c + (size_t)xx] * k[y];
            out[(size_t)yy * (size_t)w * (size_t)c + (size_t)xx] = clip8(ss);
        }
    }
}

static bool bilinear(const unsigned char *in, int h, int w, int c, int oh, int ow, unsigned char *out)
{
    bool need_h = ow != w, need_v = oh != h;
    int *bv = NULL, *kv = NULL, *bh = NULL, *kh = NULL;
    int ksv = coeffs(h, oh, &bv, &kv);
    if (!ksv) return false;
    int first = bv[0], last = bv[oh * 2 - 2] + bv[oh * 2 - 1];
    unsigned char *tmp = NULL;
    const unsigned char *src = in;
    int sw = w;
    bool ok = true;
    if (need_h) {
        int ksh = coeffs(w, ow, &bh, &kh);
        tmp = ksh ? malloc((size_t)(last - first) * (size_t)ow * (size_t)c) : NULL;
        if (!tmp) {
            ok = false;
        } else {
            for (int i = 0; i < oh; i++) bv[i * 2] -= first;
            horizontal(in, w, c, first, last - first, ow, ksh, bh, kh, tmp);
            src = tmp;
            sw = ow;
        }
    }
    if (ok && need_v) vertical(src, sw, c, oh, ksv, bv, kv, out);
    else if (ok) memcpy(out, src, (size_t)oh * (size_t)ow * (size_t)c); /* only the horizontal pass */
    free(tmp);
    free(bv);
    free(kv);
    free(bh);
    free(kh);
    return ok;
}

static void nearest(const unsigned char *in, int h, int w, int c, int oh, int ow, unsigned char *out)
{
    /* ImagingScaleAffine: positions accumulated, out-of-range ones left 0 */
    double ax = (double)(float)w / ow, ay = (double)(float)h / oh;
    int *xin = calloc((size_t)ow, sizeof *xin);
    int xmin = ow, xmax = 0;
    double xo = ax * 0.5;
    for (int x = 0; x < ow; x++) {
        int xi = xo < 0.0 ? -1 : (int)xo;
        if (xi >= 0 && xi < w) {
            xmax = x + 1;
            if (x < xmin) xmin = x;
            if (xin) xin[x] = xi;
        }
        xo += ax;
    }
    memset(out, 0, (size_t)oh * (size_t)ow * (size_t)c);
    double yo = ay * 0.5;
    for (int y = 0; y < oh && xin; y++) {
        int yi = yo < 0.0 ? -1 : (int)yo;
        if (yi >= 0 && yi < h)
            for (int x = xmin; x < xmax; x++)
                memcpy(out + ((size_t)y * (size_t)ow + (size_t)x) * (size_t)c,
                       in + ((size_t)yi * (size_t)w + (size_t)xin[x]) * (size_t)c, (size_t)c);
        yo += ay;
    }
    free(xin);
}

tc_tensor *tc_image_resize(const tc_tensor *img, int64_t height, int64_t width, tc_interp interp)
{
    if (!img || img->ndim != 3 || img->shape[2] < 1 || img->shape[2] > 4 || img->shape[0] < 1 || img->shape[1] < 1) {
        tc_error(TC_ERR_SHAPE, "image_resize: image must be [H, W, 1..4], given %s", img ? TC_SHP(img) : "NULL");
        return NULL;
    }
    if (height < 1 || width < 1 || height > (1 << 20) || width > (1 << 20) || (interp != TC_INTERP_NEAREST &&
                                                                                 interp != TC_INTERP_BILINEAR)) {
        tc_error(TC_ERR_ARG, "image_resize: size %lldx%lld (1 to 2^20) or filter %d (NEAREST, BILINEAR)",
                 (long long)height, (long long)width, (int)interp);
        return NULL;
    }
    int h = (int)img->shape[0], w = (int)img->shape[1], c = (int)img->shape[2], oh = (int)height, ow = (int)width;
    int64_t n = tc_numel(img);
    tc_scalar *vals = malloc(sizeof *vals * (size_t)n);
    unsigned char *in = malloc((size_t)n), *out = malloc((size_t)oh * (size_t)ow * (size_t)c);
    tc_tensor *t = tc_tensor_new(3, (int64_t[]){oh, ow, c});
    bool ok = vals && in && out && t;
    if (ok) {
        tc_read_values(img, vals);
        for (int64_t i = 0; i < n; i++) {
            double v = vals[i];
            in[i] = v != v || v <= 0 ? 0 : v >= 255 ? 255 : (unsigned char)(v + 0.5);
        }
        if (oh == h && ow == w) memcpy(out, in, (size_t)n); /* Pillow crops (copies) */
        else if (interp == TC_INTERP_NEAREST) nearest(in, h, w, c, oh, ow, out);
        else ok = bilinear(in, h, w, c, oh, ow, out);
    }
    if (ok)
        for (int64_t i = 0; i < (int64_t)oh * ow * c; i++) t->data[i] = out[i];
    free(vals);
    free(in);
    free(out);
    if (!ok) {
        tc_tensor_free(t);
        tc_error(TC_ERR_MEMORY, "image_resize: out of memory for %dx%d", oh, ow);
        return NULL;
    }
    return t;
}
