/* Kernel gradient of a stride-1 2-D convolution read from the input rows in
 * place, without the im2col copy (one image block: batch 1, or the few-row
 * batches that are one block).
 *
 * With stride 1 and no dilation, the kw taps of one kernel row dh read kw
 * neighbouring pixels of one input row, so the kw * C patch columns of that
 * kernel row, for the output positions ow of an output row, are the padded
 * input row itself: A^T[dw * C + c][ow] = row[(ow + dw) * C + c], a matrix
 * with k step C. dW's rows of kernel row dh (kw * C of them) then get, per
 * output row oh, one product
 *   dW[dh] += row(oh + dh - pad)^T (as kw * C x OW, lda C) * dY[oh] (OW x F)
 * which the packed driver reads in place (kernel_uat) as it read the im2col
 * tile before. The im2col path wrote 9 copies of every input value per step
 * and the kernel read them back (VGG conv1_2: 115 MB through L2, a quarter
 * of dW's samples in memmove and dw_units); here each input row is read as
 * it lies (copied once into a padded row when the layer pads columns).
 * Rows that fall into the top or bottom padding add nothing and are skipped.
 *
 * The sums group by output row (one K block of OW positions per call)
 * instead of the im2col tiles' 256-position K blocks: new bits for these
 * layers (tests are against a naive loop), still one order per element of
 * dW fixed by the shape, so any thread count and any split of dW's rows
 * give the same bits. On the BLAS paths (generic ISA, doubles) the products
 * go tap by tap. */
#include "conv_im2col.h"

#include <stdlib.h>
#include <string.h>

/* Under this many output columns the im2col tiles stay: a product of OW
 * positions loads and stores its 6 x 32 tile of dW every OW k steps (every
 * 256 on the tiles). Measured faster from 56 up (res2_3x3 dW -8%, VGG and
 * InceptionV3 more); with 32 (bench_train cifar) no gain could be seen under
 * load 8-10, so 32-wide maps are left as they were. */
#define DW_ROWS_MIN_OW 48
/* On the BLAS paths a product is one tap's C rows: with 32 (InceptionV3's
 * conv3) OpenBLAS on those small products was 7% slower than on the tiles,
 * with 64 (VGG conv1_2) 11% faster (generic ISA, under load 7) */
#define DW_ROWS_BLAS_MIN_C 64
#define DW_ROWS_MAX_KH 16 /* ring slots' tags on the stack */

/* TENSORCOOK_CONV_DW_ROWS=0 keeps the im2col tiles (benches compare the
 * two in one binary); read once */
bool tc_conv_dw_rows_enabled(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("TENSORCOOK_CONV_DW_ROWS");
        on = !(e && e[0] == '0');
    }
    return on;
}

static int64_t padded_width(const conv_plan *p) { return p->OW + p->k[2] - 1; }

bool tc_conv_dw_rows_ok(const conv_plan *p, int64_t scratch_floats)
{
    return p->groups == 1 && !p->patches && p->D == 1 && p->k[0] == 1 && p->s[1] == 1 && p->s[2] == 1 &&
           p->dl[1] == 1 && p->dl[2] == 1 && p->OW >= DW_ROWS_MIN_OW && p->k[1] <= DW_ROWS_MAX_KH &&
           p->k[1] * padded_width(p) * p->C <= scratch_floats && (tc_gemm_packs_b() || p->C >= DW_ROWS_BLAS_MIN_C);
}

/* Input row ih of image n with the layer's column padding, ready for the
 * products: the row itself when the layer pads no columns, else a copy in
 * ring slot ih % kh (tag[slot] remembers which row the slot holds). */
static const tc_scalar *input_row(const conv_plan *p, int64_t n, int64_t ih, tc_scalar *ring, int64_t *tag)
{
    const int64_t C = p->C, Wp = padded_width(p), pl = p->pb[2];
    const tc_scalar *src = p->x + ((n * p->H + ih) * p->W) * C;
    if (pl == 0 && Wp == p->W) return src;
    const int64_t slot = ih % p->k[1], key = n * p->H + ih;
    tc_scalar *row = ring + slot * Wp * C;
    if (tag[slot] != key) {
        const int64_t pr = Wp - p->W - pl; /* columns of right padding (may be < 0: never read past OW + kw - 1) */
        const int64_t copy = pr >= 0 ? p->W : p->W + pr;
        memset(row, 0, sizeof(tc_scalar) * (size_t)(pl * C));
        memcpy(row + pl * C, src, sizeof(tc_scalar) * (size_t)(copy * C));
        if (pr > 0) memset(row + (pl + p->W) * C, 0, sizeof(tc_scalar) * (size_t)(pr * C));
        tag[slot] = key;
    }
    return row;
}

void tc_conv_dw_rows(const conv_plan *p, const tc_scalar *dy, tc_scalar *dw, int64_t n0, int64_t n1, int64_t k0, int64_t k1,
                     tc_scalar *ring)
{
    const int64_t C = p->C, F = p->F, kh = p->k[1], seg = p->k[2] * C, pt = p->pb[1];
    /* BLAS takes no A^T with a leading dimension (C) under its rows: there
     * each product is one tap's C rows (a rule of the shape, as the halves of
     * dW that dw_parallel gives the BLAS threads) */
    const bool whole = tc_gemm_packs_b();
    int64_t tags[DW_ROWS_MAX_KH];
    for (int64_t i = 0; i < kh; i++) tags[i] = -1;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t oh = 0; oh < p->OH; oh++) {
            const tc_scalar *dyr = dy + (n * p->rows_img + oh * p->OW) * F;
            for (int64_t dh = 0; dh < kh; dh++) {
                const int64_t ih = oh + dh - pt;
                const int64_t a = k0 > dh * seg ? k0 : dh * seg, b = k1 < (dh + 1) * seg ? k1 : (dh + 1) * seg;
                if (ih < 0 || ih >= p->H || a >= b) continue;
                const tc_scalar *row = input_row(p, n, ih, ring, tags);
                for (int64_t q = a; q < b;) { /* [a, b) at once, or tap by tap where BLAS multiplies */
                    const int64_t tap_end = (q / C + 1) * C, e = whole || tap_end > b ? b : tap_end;
                    tc_gemm_serial(true, false, e - q, F, p->OW, 1, row + (q - dh * seg), C, dyr, F, 1, dw + q * F, F);
                    q = e;
                }
            }
        }
}
