/* The direct thin-layer kernels (float builds; AVX-512 and AVX2 + FMA),
 * which build no patch matrix: they read a zero-padded copy of the input
 * (conv_thin_direct.c) and the channels-last output gradient in place.
 * Not installed.
 *
 * Padded input: position (pd, ph, pw) of image n holds x at
 * (pd - pb0, ph - pb1, pw - pb2) or 0; a tap (kd, kh, kw, c) of output
 * (od, oh, ow) sits at row (od*s0 + kd*dl0, oh*s1 + kh*dl1), column
 * ow*s2*C + kw*dl2*C + c of it.
 *
 * fwd_row:  y[ow][f] = bias[f] + sum_t x[ow*ps + toff[t]] * w[t][f]
 *           for ow < OW, f < F, taps t = 0 .. K-1 summed in order; x points
 *           at the output row's first padded input row, ps = s2*C.
 * dw_group: out[r*G + g][f] = sum over rows i < nrows, ow < OW (in order) of
 *           xr[i][goff + r*rowstep + ow*ps + g] * dy[(i*OW + ow)*F + f]
 *           for r < R, g < G: R kernel rows of G consecutive padded-row
 *           offsets (some of which are no tap when dilated: dropped by the
 *           caller); R*G <= dw_taps; db, unless NULL: db[f] = sum of the dy
 *           rows' column f, pixel by pixel in order (the bias gradient).
 * dx_row:   one column phase of an input row (pixels m < W, dx column
 *           q + m*s at dx + m*xstep, xstep = s*C):
 *           dx[m*xstep + c] += sum over r < nr, taps j < nt, f of
 *           dyr[r][ow*F + f] * wr[r][tw[j] + c*F + f], ow = m + to[j]
 *           inside [0, OW); nr (kd, kh) rows whose output row exists, the nt
 *           kernel columns kw of the phase (tw[j] = kw*C*F, to[j] = (q + pw -
 *           kw*dlw) / s); zeros: F zeros. Stride 1 is one phase of every kw.
 * Every output sums its terms in an order fixed by the shapes only. */
#ifndef TC_OPS_CONV_THIN_DIRECT_H
#define TC_OPS_CONV_THIN_DIRECT_H

#include <stdint.h>

typedef struct thin_direct_kernels {
    void (*fwd_row)(const float *x, const int64_t *toff, int64_t K, int64_t ps, const float *w, int64_t F,
                    const float *bias, int64_t OW, float *y);
    void (*dw_group)(const float *const *xr, const float *dy, int64_t nrows, int64_t OW, int64_t ps, int64_t F,
                     int64_t goff, int64_t rowstep, int R, int G, float *out, float *db);
    void (*dx_row)(const float *const *dyr, const float *const *wr, int nr, int64_t W, int64_t OW, const int64_t *tw,
                   const int64_t *to, int nt, int64_t xstep, int64_t C, int64_t F, const float *zeros, float *dx);
    void (*col_sum)(const float *dy, int64_t n, int64_t F, float *out); /* out[f] = sum_r dy[r*F + f] */
    int dw_taps; /* most accumulated taps (R*G) of one dw_group call */
} thin_direct_kernels;

extern const thin_direct_kernels tc_thin_direct_avx512, tc_thin_direct_avx2;

#endif
