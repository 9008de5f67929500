/* Convolution backward of a single image block (batch 1: one image, or
 * WaveNet's training window; conv_im2col.c has the batch of blocks).
 * The blocks give the pool nothing to share, so the block's work is cut
 * three other ways, each one parallel region (it was one region per tile
 * and product, with im2col and col2im on the calling thread between them:
 * at 2 threads res2_3x3's training step had 0.5 ms of 4.6 ms serial and
 * an ideal speed-up of 1.68x, inc_conv3 1.68x, vgg_conv1_2 1.70x):
 *   bias:  column blocks of db (each column summed row by row, as before);
 *   dW:    rows of dW (ranges of K), each part running all tiles with the
 *          im2col of its own patch columns (colsum of its taps only);
 *   dX:    tiles in two waves (even, then odd tiles), each tile's dP and
 *          col2im on one thread: tiles of a wave touch disjoint parts of dx.
 * dW's per element operations are those of the one product per tile (the
 * same tiles, K blocks and order; the own kernel's bits do not depend on
 * how the rows of C are cut, and on the OpenBLAS paths the cut is a rule of
 * the shape). dX's order is fixed by the waves, a rule of the shape: so
 * any thread count gives the same bits. */
#include "conv_colsum.h"
#include "conv_im2col.h"

#include <stdint.h>
#include <string.h>

/* columns [k0, k1) of the patch rows [r0, r1) of group g into P (leading
 * dimension k1 - k0): im2col_tile's values for a range of the columns */
static void im2col_cols(const conv_plan *p, const patch_tap *taps, int64_t g, int64_t r0, int64_t r1, int64_t k0,
                        int64_t k1, tc_scalar *P)
{
    const int64_t cg = p->Cg, image = p->D * p->H * p->W * p->C, ld = k1 - k0;
    const int64_t t0 = k0 / cg, t1 = (k1 + cg - 1) / cg;
    int64_t n = r0 / p->rows_img, o = r0 % p->rows_img;
    int64_t ow = o % p->OW, oh = (o / p->OW) % p->OH, od = o / p->OW / p->OH;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t d0 = od * p->s[0] - p->pb[0], h0 = oh * p->s[1] - p->pb[1], w0 = ow * p->s[2] - p->pb[2];
        const tc_scalar *xn = p->x + n * image + g * cg;
        tc_scalar *dst = P + (r - r0) * ld;
        for (int64_t t = t0; t < t1; t++) {
            const int64_t c0 = t * cg > k0 ? t * cg : k0, c1 = (t + 1) * cg < k1 ? (t + 1) * cg : k1;
            const int64_t id = d0 + taps[t].dd, ih = h0 + taps[t].dh, iw = w0 + taps[t].dw;
            const size_t bytes = sizeof(tc_scalar) * (size_t)(c1 - c0);
            if (id < 0 || id >= p->D || ih < 0 || ih >= p->H || iw < 0 || iw >= p->W) memset(dst + (c0 - k0), 0, bytes);
            else memcpy(dst + (c0 - k0), xn + ((id * p->H + ih) * p->W + iw) * p->C + (c0 - t * cg), bytes);
        }
        if (++ow == p->OW) {
            ow = 0;
            if (++oh == p->OH) {
                oh = 0;
                if (++od == p->OD) od = 0, n++;
            }
        }
    }
}

/* out[c] += sum over rows r in order of dy[r][c], for columns in blocks of
 * COLSUM_COLS (the pool's units): per column the additions of
 * tc_accumulate row by row. Where the ISA has them, conv_colsum.h's
 * kernels stream the rows with the unit range's columns in registers; the
 * plain loop keeps one block's running sums down the rows (a load, add and
 * store of out per row and column cost res2_1x1_out's 3,136 x 256 gradient
 * 1 ms). Either way the same additions in the same order: the same bits. */
#define COLSUM_COLS 16
typedef struct {
    const tc_scalar *dy;
    int64_t rows, F;
    tc_scalar *out;
} colsum_job;

static void colsum_units(void *ctx, int64_t lo, int64_t hi)
{
    const colsum_job *c = ctx;
    const int64_t c1 = hi * COLSUM_COLS < c->F ? hi * COLSUM_COLS : c->F;
#ifndef TC_DOUBLE
    switch (tc_isa()) {
    case TC_ISA_AVX512: tc_conv_colsum_cols_avx512(c->out, c->dy, c->rows, c->F, lo * COLSUM_COLS, c1); return;
    case TC_ISA_AVX2: tc_conv_colsum_cols_avx2(c->out, c->dy, c->rows, c->F, lo * COLSUM_COLS, c1); return;
    default: break;
    }
#endif
    for (int64_t c0 = lo * COLSUM_COLS; c0 < c1; c0 += COLSUM_COLS) {
        tc_scalar acc[COLSUM_COLS];
        const tc_scalar *s = c->dy + c0;
        if (c1 - c0 >= COLSUM_COLS) { /* fixed trip counts: vectorised at -O2 */
            for (int i = 0; i < COLSUM_COLS; i++) acc[i] = c->out[c0 + i];
            for (int64_t r = 0; r < c->rows; r++, s += c->F)
                for (int i = 0; i < COLSUM_COLS; i++) acc[i] += s[i];
            for (int i = 0; i < COLSUM_COLS; i++) c->out[c0 + i] = acc[i];
        } else {
            const int64_t w = c1 - c0;
            for (int64_t i = 0; i < w; i++) acc[i] = c->out[c0 + i];
            for (int64_t r = 0; r < c->rows; r++, s += c->F)
                for (int64_t i = 0; i < w; i++) acc[i] += s[i];
            for (int64_t i = 0; i < w; i++) c->out[c0 + i] = acc[i];
        }
    }
}

void tc_conv_colsum(tc_scalar *out, const tc_scalar *dy, int64_t rows, int64_t F, bool pooled)
{
    colsum_job c = {dy, rows, F, out};
    const int64_t units = (F + COLSUM_COLS - 1) / COLSUM_COLS;
    if (!pooled || rows * F < 65536) colsum_units(&c, 0, units); /* a wake-up costs more */
    else tc_parallel_for(units, 1, colsum_units, &c);
}

/* dW rows [k0, k1) += the products of all tiles (as backward_blocks' one block) */
static void dw_rows(const conv_job *j, const patch_tap *taps, int64_t k0, int64_t k1, tc_scalar *P)
{
    const conv_plan *p = j->p;
    const int64_t rows = p->N * p->rows_img, t = tc_conv_tile_rows(p, 0, rows);
    for (int64_t r0 = 0; r0 < rows; r0 += t) {
        const int64_t r1 = r0 + t < rows ? r0 + t : rows;
        for (int64_t g = 0; g < p->groups; g++) {
            const tc_scalar *a = P;
            int64_t lda = k1 - k0;
            if (p->patches) a = p->patches + (g * rows + r0) * p->K + k0, lda = p->K; /* kept by forward */
            else im2col_cols(p, taps, g, r0, r1, k0, k1, P);
            tc_gemm_serial(true, false, k1 - k0, p->Fg, r1 - r0, 1, a, lda, j->dy + r0 * p->F + g * p->Fg, p->F, 1,
                           j->dw + k0 * p->F + g * p->Fg, p->F);
        }
    }
}

/* Units of dW rows: with our own kernel strips of 6 rows (the last one
 * 6-11 rows, so no part is a one-row GEMV), a chunk of them one product per
 * tile; with OpenBLAS two fixed halves (in 16s), each its own product. */
typedef struct {
    const conv_job *j;
    const patch_tap *taps;
    int64_t urows, units;
    bool merge;
    bool by_rows; /* tc_conv_dw_rows: products read from the input rows */
} dw_job;

static void dw_units(void *ctx, int64_t lo, int64_t hi)
{
    const dw_job *d = ctx;
    const int64_t K = d->j->p->K;
    tc_scalar *P = d->j->scratch + tc_thread_id() * 2 * d->j->scratch_len;
    const int64_t step = d->merge ? hi - lo : 1;
    for (int64_t u = lo; u < hi; u += step) {
        const int64_t k0 = u * d->urows, k1 = u + step >= d->units ? K : (u + step) * d->urows;
        if (d->by_rows) tc_conv_dw_rows(d->j->p, d->j->dy, d->j->dw, 0, d->j->p->N, k0, k1, P);
        else dw_rows(d->j, d->taps, k0, k1, P);
    }
}

static void dw_parallel(const conv_job *j, const patch_tap *taps)
{
    const int64_t K = j->p->K;
    dw_job d = {j, taps, 6, K / 6 > 0 ? K / 6 : 1, true, j->dw_rows};
    if (!tc_gemm_packs_b()) {
        d.merge = false;
        d.urows = K >= 32 ? (K / 2 + 15) / 16 * 16 : K;
        d.units = (K + d.urows - 1) / d.urows;
    }
    tc_parallel_for(d.units, 1, dw_units, &d);
}

/* The pixels (flat, over the batch) the windows of rows [r0, r1) touch lie
 * in [*lo, *hi] (*hi < *lo: none). Per run of rows in one output row: the
 * first window's corner bounds it below, the last one's far corner above
 * (the width clamped into the image, which can only widen the range), so
 * the rule costs a few operations per output row, not per position. */
static void tile_pixels(const conv_plan *p, int64_t r0, int64_t r1, int64_t *lo, int64_t *hi)
{
    const int64_t span[3] = {(p->k[0] - 1) * p->dl[0], (p->k[1] - 1) * p->dl[1], (p->k[2] - 1) * p->dl[2]};
    *lo = INT64_MAX, *hi = -1;
    for (int64_t r = r0; r < r1;) {
        const int64_t n = r / p->rows_img, o = r % p->rows_img;
        const int64_t ow = o % p->OW, oh = (o / p->OW) % p->OH, od = o / p->OW / p->OH;
        const int64_t e = r + (p->OW - ow) < r1 ? r + (p->OW - ow) : r1, ow_last = ow + (e - 1 - r);
        r = e;
        const int64_t d0 = od * p->s[0] - p->pb[0], h0 = oh * p->s[1] - p->pb[1];
        const int64_t da = d0 > 0 ? d0 : 0, db = d0 + span[0] < p->D - 1 ? d0 + span[0] : p->D - 1;
        const int64_t ha = h0 > 0 ? h0 : 0, hb = h0 + span[1] < p->H - 1 ? h0 + span[1] : p->H - 1;
        if (da > db || ha > hb) continue; /* these windows lie in the padding */
        int64_t wa = ow * p->s[2] - p->pb[2], wb = ow_last * p->s[2] - p->pb[2] + span[2];
        wa = wa < 0 ? 0 : wa > p->W - 1 ? p->W - 1 : wa;
        wb = wb < 0 ? 0 : wb > p->W - 1 ? p->W - 1 : wb;
        const int64_t l = ((n * p->D + da) * p->H + ha) * p->W + wa, h = ((n * p->D + db) * p->H + hb) * p->W + wb;
        if (l < *lo) *lo = l;
        if (h > *hi) *hi = h;
    }
}

/* The input-gradient tiles: bounds[0..nx] (nx a multiple of 4, so each wave
 * splits evenly over two threads), rows rounded to strips of 6, and tiles of
 * the same parity touching disjoint pixels (a tile must span the kernel's
 * rows: VGG's 224-wide conv1_2 gets 48 tiles of 4-5 image rows, not the 196
 * of its 256-row im2col tiles); 0 when no such tiling has at least 4 tiles
 * (few rows: dX then goes tile by tile with each product split). A wave
 * tile is done in im2col tiles of at most p->tile rows, in order. A rule of
 * the shape only. */
int64_t tc_conv_dx_tiles(const conv_plan *p, int64_t **bounds_out)
{
    const int64_t rows = p->N * p->rows_img;
    int64_t nx = (rows + p->tile - 1) / p->tile;
    nx = nx < 4 ? 4 : (nx + 3) / 4 * 4;
    int64_t *b = tc_arena_alloc(sizeof(int64_t) * (size_t)(3 * nx + 1)), *lo = b + nx + 1, *hi = lo + nx;
    if (!b) return 0;
    for (; nx >= 4; nx = nx == 4 ? 0 : nx / 8 * 4 < 4 ? 4 : nx / 8 * 4) { /* else half as many, wider */
        if (rows / nx < 12) continue;
        for (int64_t u = 0; u < nx; u++) b[u] = (u * rows / nx + 3) / 6 * 6;
        b[nx] = rows;
        for (int64_t u = 0; u < nx; u++) tile_pixels(p, b[u], b[u + 1], &lo[u], &hi[u]);
        bool ok = true;
        for (int64_t u = 0; ok && u < nx; u++)
            for (int64_t v = u + 2; ok && v < nx; v += 2)
                ok = hi[u] < lo[u] || hi[v] < lo[v] || hi[u] < lo[v] || hi[v] < lo[u];
        if (ok) {
            *bounds_out = b;
            return nx;
        }
    }
    return 0;
}

typedef struct {
    const conv_job *j;
    const int64_t *bounds;
    int64_t wave;
} dx_wave_job;

static void dx_wave_tiles(void *ctx, int64_t lo, int64_t hi)
{
    const dx_wave_job *w = ctx;
    const conv_job *j = w->j;
    const conv_plan *p = j->p;
    tc_scalar *dP = j->scratch + tc_thread_id() * 2 * j->scratch_len + j->scratch_len;
    for (int64_t i = lo; i < hi; i++) {
        const int64_t u = 2 * i + w->wave, b0 = w->bounds[u], b1 = w->bounds[u + 1], t = tc_conv_tile_rows(p, b0, b1);
        for (int64_t r0 = b0; r0 < b1; r0 += t) {
            const int64_t r1 = r0 + t < b1 ? r0 + t : b1;
            for (int64_t g = 0; g < p->groups; g++) {
                tc_gemm_serial_b(false, r1 - r0, 1, j->dy + r0 * p->F + g * p->Fg, p->F, &j->wp[g], NULL, 0, dP, p->K);
                tc_conv_col2im_tile(p, g, r0, r1, dP, j->dx);
            }
        }
    }
}

bool tc_conv_backward_one_block(const conv_job *j)
{
    const conv_plan *p = j->p;
    const int64_t rows = p->N * p->rows_img;
    if (j->db_parts) {
        memset(j->db_parts, 0, sizeof(tc_scalar) * (size_t)p->F);
        tc_conv_colsum(j->db_parts, j->dy, rows, p->F, true);
    }
    patch_tap *taps = tc_arena_alloc(sizeof(patch_tap) * (size_t)(p->K / p->Cg));
    if (!taps) return false;
    tc_conv_tap_table(p, taps);
    if (j->dw) dw_parallel(j, taps);
    if (!j->dx) return true;
    const int64_t nx = j->dx_nx;
    const int64_t *bounds = j->dx_bounds;
    if (nx) {
        for (int64_t wave = 0; wave < 2; wave++) {
            dx_wave_job w = {j, bounds, wave};
            tc_parallel_for(nx / 2, 1, dx_wave_tiles, &w);
        }
        return true;
    }
    /* few rows: tile by tile, each product split over the pool */
    const int64_t t = tc_conv_tile_rows(p, 0, rows);
    tc_scalar *dP = j->scratch + j->scratch_len;
    for (int64_t r0 = 0; r0 < rows; r0 += t) {
        const int64_t r1 = r0 + t < rows ? r0 + t : rows;
        for (int64_t g = 0; g < p->groups; g++) {
            tc_gemm_b(false, r1 - r0, 1, j->dy + r0 * p->F + g * p->Fg, p->F, &j->wp[g], NULL, 0, dP, p->K);
            tc_conv_col2im_tile(p, g, r0, r1, dP, j->dx);
        }
    }
    return true;
}
