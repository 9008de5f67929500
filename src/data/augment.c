/* Augmentation: random left-right flips and rotations (bilinear, zero
 * fill), seeded by the caller's counter-based generator. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/data.h"

#include <math.h>
#include <stdlib.h>

tc_status tc_augment_batch(tc_tensor *batch, const tc_augment_opts *o, tc_rng *rng)
{
    if (!batch || !o || !rng) return tc_error(TC_ERR_ARG, "augment_batch: NULL argument");
    if (batch->ndim != 4 || !tc_is_contiguous(batch))
        return tc_error(TC_ERR_SHAPE, "augment_batch: batch %s must be a contiguous [B, H, W, C]", TC_SHP(batch));
    int64_t B = batch->shape[0], H = batch->shape[1], W = batch->shape[2], C = batch->shape[3], per = H * W * C;
    tc_scalar *tmp = malloc(sizeof(tc_scalar) * (size_t)(per ? per : 1));
    if (!tmp) return tc_error(TC_ERR_MEMORY, "augment_batch: out of memory");
    for (int64_t b = 0; b < B; b++) {
        tc_scalar *img = batch->data + b * per;
        bool flip = o->flip_lr && tc_rng_double(rng) < 0.5;
        double angle = o->max_rotation_degrees > 0 ? (tc_rng_double(rng) * 2 - 1) * o->max_rotation_degrees : 0;
        if (flip)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W / 2; x++)
                    for (int64_t c = 0; c < C; c++) {
                        tc_scalar *a = img + (y * W + x) * C + c, *z = img + (y * W + (W - 1 - x)) * C + c, t = *a;
                        *a = *z;
                        *z = t;
                    }
        if (angle == 0) continue;
        double th = angle * M_PI / 180, cs = cos(th), sn = sin(th), cy = (H - 1) / 2.0, cx = (W - 1) / 2.0;
        memcpy(tmp, img, sizeof(tc_scalar) * (size_t)per);
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                /* where this output pixel comes from, rotated back */
                double sx = cs * (x - cx) + sn * (y - cy) + cx, sy = -sn * (x - cx) + cs * (y - cy) + cy;
                int64_t x0 = (int64_t)floor(sx), y0 = (int64_t)floor(sy);
                double fx = sx - x0, fy = sy - y0;
                for (int64_t c = 0; c < C; c++) {
                    double v = 0;
                    for (int k = 0; k < 4; k++) {
                        int64_t xx = x0 + (k & 1), yy = y0 + (k >> 1);
                        if (xx < 0 || xx >= W || yy < 0 || yy >= H) continue;
                        double w = ((k & 1) ? fx : 1 - fx) * ((k >> 1) ? fy : 1 - fy);
                        v += w * tmp[(yy * W + xx) * C + c];
                    }
                    img[(y * W + x) * C + c] = (tc_scalar)v;
                }
            }
    }
    free(tmp);
    return TC_OK;
}
