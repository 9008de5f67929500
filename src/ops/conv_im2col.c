/* Convolution kernels: tiled im2col + GEMM, forward and backward (with our
 * packed GEMM, AVX2 or AVX-512, the forward packs its A panels straight
 * from the input, see patch_runs below, and no P tile is written; the
 * backward of a single image block is conv_backward_one.c).
 *
 * A patch row holds, for one output position, the input values under the
 * kernel in the kernel's own order (kd, kh, kw, c), so a tile of patch rows
 * P [T, K] times the kernel viewed as [K, F] is T rows of the output.
 * Channels-last makes each (kd, kh, kw) run of Cg channels one memcpy.
 * Tiles hold 128K values (512 KB, so they stay in L2 between im2col and
 * the GEMM that packs them) but at least 256 rows (the tile sizes were set
 * while each GEMM repacked the kernel; on the packed-kernel path W is now
 * packed once per call, see prepare_kernel); the patch matrix of the whole batch
 * is never materialised. Tiles may cross images (thin first layers get
 * thousands of rows per GEMM); in the backward pass they stay inside one
 * block of images.
 *   forward:  Y_tile  = P_tile @ W (+ bias)          parallel over tiles
 *   backward: dP_tile = dY_tile @ W^T, col2im into dX parallel over image blocks
 *             dW_b    = sum over the tiles of block b of P_tile^T @ dY_tile,
 *             dW     += dW_0 + dW_1 + ... (fixed order; the bias gradient alike)
 * The tiles and the image blocks depend on the shapes only, never on the
 * number of threads, so every sum is done in the same order on 1 or 2
 * threads: results are bit-identical. */
#include "conv_im2col.h"

#include <stdint.h>

/* rows [r0, r1) of the batch's patch matrix for group g (row r: image
 * r / rows_img, output position r % rows_img), into P [r1-r0, K] */
static void im2col_tile(const conv_plan *p, int64_t g, int64_t r0, int64_t r1, tc_scalar *P)
{
    const int64_t cg = p->Cg, coff = g * p->Cg, image = p->D * p->H * p->W * p->C;
    const size_t run = sizeof(tc_scalar) * (size_t)cg;
    int64_t n = r0 / p->rows_img, o = r0 % p->rows_img;
    int64_t ow = o % p->OW, oh = (o / p->OW) % p->OH, od = o / p->OW / p->OH;
    const tc_scalar *xn = p->x + n * image + coff;
    for (int64_t r = r0; r < r1; r++) {
        tc_scalar *dst = P + (r - r0) * p->K;
        for (int64_t kd = 0; kd < p->k[0]; kd++) {
            int64_t id = od * p->s[0] - p->pb[0] + kd * p->dl[0];
            bool din = id >= 0 && id < p->D;
            for (int64_t kh = 0; kh < p->k[1]; kh++) {
                int64_t ih = oh * p->s[1] - p->pb[1] + kh * p->dl[1];
                bool hin = din && ih >= 0 && ih < p->H;
                const tc_scalar *xrow = hin ? xn + (id * p->H + ih) * p->W * p->C : NULL;
                int64_t iw = ow * p->s[2] - p->pb[2];
                for (int64_t kw = 0; kw < p->k[2]; kw++, iw += p->dl[2], dst += cg) {
                    if (!hin || iw < 0 || iw >= p->W) {
                        memset(dst, 0, run);
                    } else if (cg <= 4) { /* first layers (1-3 channels): a call to memcpy costs more */
                        for (int64_t c = 0; c < cg; c++) dst[c] = xrow[iw * p->C + c];
                    } else {
                        memcpy(dst, xrow + iw * p->C, run);
                    }
                }
            }
        }
        if (++ow == p->OW) {
            ow = 0;
            if (++oh == p->OH) {
                oh = 0;
                if (++od == p->OD) od = 0, xn += image;
            }
        }
    }
}

/* The patch rows [r0, r0 + m) of group g as runs (tc_gemm_a_runs): run t
 * of a row is tap t's Cg channels, read where they lie in the input (or a
 * run of zeros for the padding and for rows past m), so the forward GEMM
 * packs its A panels straight from the input: the values im2col_tile would
 * have copied, with no P tile written and read back (that copy was 6-9% of
 * a forward pass on ResNet's and VGG's 3x3 layers). */

typedef struct {
    const conv_plan *p;
    int64_t g, r0, m;
    const tc_scalar *zeros; /* Cg zeros */
    const patch_tap *taps;  /* K / Cg of them, in the patch row's order */
} patch_runs;

/* The taps of p (K / Cg of them) into t (tap_table's arena block) */
void tc_conv_tap_table(const conv_plan *p, patch_tap *t)
{
    for (int64_t kd = 0; kd < p->k[0]; kd++)
        for (int64_t kh = 0; kh < p->k[1]; kh++)
            for (int64_t kw = 0; kw < p->k[2]; kw++, t++) {
                t->dd = kd * p->dl[0], t->dh = kh * p->dl[1], t->dw = kw * p->dl[2];
                t->off = ((t->dd * p->H + t->dh) * p->W + t->dw) * p->C;
            }
}

static void patch_runs6(const void *ctx, int64_t i0, int64_t t0, int64_t nt, const tc_scalar *(*r)[6])
{
    const patch_runs *pr = ctx;
    const conv_plan *p = pr->p;
    const patch_tap *tp = pr->taps + t0;
    const int64_t image = p->D * p->H * p->W * p->C, row = pr->r0 + i0;
    const int64_t span[3] = {(p->k[0] - 1) * p->dl[0] + 1, (p->k[1] - 1) * p->dl[1] + 1, (p->k[2] - 1) * p->dl[2] + 1};
    int64_t n = row / p->rows_img, o = row % p->rows_img;
    int64_t ow = o % p->OW, oh = (o / p->OW) % p->OH, od = o / p->OW / p->OH;
    for (int i = 0; i < 6; i++) {
        /* row i's window corner; every tap inside the input (most rows): no checks */
        const int64_t d0 = od * p->s[0] - p->pb[0], h0 = oh * p->s[1] - p->pb[1], w0 = ow * p->s[2] - p->pb[2];
        const bool row_in = i0 + i < pr->m;
        const tc_scalar *corner = p->x + n * image + pr->g * p->Cg;
        const int64_t coff = ((d0 * p->H + h0) * p->W + w0) * p->C; /* may be negative: added to each tap's */
        if (row_in && d0 >= 0 && d0 + span[0] <= p->D && h0 >= 0 && h0 + span[1] <= p->H && w0 >= 0 &&
            w0 + span[2] <= p->W) {
            for (int64_t u = 0; u < nt; u++) r[u][i] = corner + (coff + tp[u].off);
        } else {
            for (int64_t u = 0; u < nt; u++) {
                const int64_t id = d0 + tp[u].dd, ih = h0 + tp[u].dh, iw = w0 + tp[u].dw;
                const bool in = row_in && id >= 0 && id < p->D && ih >= 0 && ih < p->H && iw >= 0 && iw < p->W;
                r[u][i] = in ? corner + (coff + tp[u].off) : pr->zeros;
            }
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

/* Y rows [r0, r1) of group g (y at row r0, group offset applied) from the
 * patch runs: false where tc_gemm_b_runs does not take them (then nothing
 * was done). */
/* The epilogue inside the product: on each tile, or, with a residual of
 * more than 192 channels, on each finished block of a part's rows (rows
 * 6 at a time F apart cost more than a streaming pass: ResNet-50 at batch
 * 8, 3.9% of the run against 2.0%; a part's 144-row block streams from its
 * core's L2, in the product's parallel region instead of a second one). */
static bool ep_per_part(const conv_plan *p) { return p->ep.res && p->F > 192; }

/* tc_conv_epilogue_tile on rows of a product that starts at batch row r0 */
typedef struct {
    const conv_plan *p;
    int64_t r0;
} ep_from;

static void epilogue_from(void *ctx, tc_scalar *c, int64_t ldc, int64_t row, int64_t h, int64_t col, int64_t w)
{
    const ep_from *e = ctx;
    tc_conv_epilogue_tile((void *)e->p, c, ldc, e->r0 + row, h, col, w);
}

static bool forward_runs(const conv_plan *p, bool pooled, int64_t g, int64_t r0, int64_t r1, const tc_gemm_b_panel *wp,
                         const tc_scalar *bias, const tc_scalar *zeros, const patch_tap *taps, tc_scalar *y, bool ep)
{
    if (!zeros || !taps) return false;
    const patch_runs pr = {p, g, r0, r1 - r0, zeros, taps};
    const tc_gemm_a_runs ar = {patch_runs6, &pr, p->Cg};
    /* ep: the epilogue of rows r0.. inside the product (one parallel region, not two) */
    const ep_from e = {p, r0};
    return ep ? tc_gemm_b_runs(pooled, r1 - r0, &ar, wp, bias, y, p->F, epilogue_from, (void *)&e, ep_per_part(p))
              : tc_gemm_b_runs(pooled, r1 - r0, &ar, wp, bias, y, p->F, NULL, NULL, false);
}

/* d[0..n) += s[0..n): blocks of 16 so that -O2's cheap vectoriser takes the loop */
static inline void add_run(tc_scalar *restrict d, const tc_scalar *restrict s, int64_t n)
{
    int64_t c = 0;
    for (; c + 16 <= n; c += 16)
        for (int i = 0; i < 16; i++) d[c + i] += s[c + i];
    for (; c < n; c++) d[c] += s[c];
}

/* dx (group g) += col2im(dP) for batch rows [r0, r1) */
void tc_conv_col2im_tile(const conv_plan *p, int64_t g, int64_t r0, int64_t r1, const tc_scalar *dP, tc_scalar *dx)
{
    const int64_t cg = p->Cg, coff = g * p->Cg, image = p->D * p->H * p->W * p->C;
    int64_t n = r0 / p->rows_img, o = r0 % p->rows_img;
    int64_t ow = o % p->OW, oh = (o / p->OW) % p->OH, od = o / p->OW / p->OH;
    tc_scalar *dxn = dx + n * image + coff;
    for (int64_t r = r0; r < r1; r++) {
        const tc_scalar *src = dP + (r - r0) * p->K;
        for (int64_t kd = 0; kd < p->k[0]; kd++) {
            int64_t id = od * p->s[0] - p->pb[0] + kd * p->dl[0];
            bool din = id >= 0 && id < p->D;
            for (int64_t kh = 0; kh < p->k[1]; kh++) {
                int64_t ih = oh * p->s[1] - p->pb[1] + kh * p->dl[1];
                bool hin = din && ih >= 0 && ih < p->H;
                tc_scalar *xrow = hin ? dxn + (id * p->H + ih) * p->W * p->C : NULL;
                int64_t iw = ow * p->s[2] - p->pb[2];
                for (int64_t kw = 0; kw < p->k[2]; kw++, iw += p->dl[2], src += cg) {
                    if (!hin || iw < 0 || iw >= p->W) continue;
                    add_run(xrow + iw * p->C, src, cg);
                }
            }
        }
        if (++ow == p->OW) {
            ow = 0;
            if (++oh == p->OH) {
                oh = 0;
                if (++od == p->OD) od = 0, dxn += image;
            }
        }
    }
}

/* [lo, hi) cut into tiles of at most p->tile rows, all of (nearly) equal
 * size, rounded up to whole micro-kernel strips (12 rows: 2 strips of 6, 3
 * of 4) where p->tile allows, so that only the last tile has a part strip
 * (289 rows in two tiles of 145 padded 2 x 5 rows, 150 + 139 pad 5) */
int64_t tc_conv_tile_rows(const conv_plan *p, int64_t lo, int64_t hi)
{
    int64_t ntiles = (hi - lo + p->tile - 1) / p->tile;
    if (ntiles <= 1) return ntiles > 0 ? hi - lo : 1;
    int64_t t = (hi - lo + ntiles - 1) / ntiles;
    t = (t + 11) / 12 * 12;
    return t < p->tile ? t : p->tile;
}


/* The kernel of each group as the B of the tile products, packed once for
 * all the tiles (each tile's GEMM used to repack all of W). */
static bool prepare_kernel(conv_job *j, bool transposed)
{
    const conv_plan *p = j->p;
    if (!transposed && p->wpk) { /* packed once at load (tc_conv_weights) */
        j->wp = (tc_gemm_b_panel *)p->wpk;
        return true;
    }
    j->wp = tc_arena_alloc(sizeof *j->wp * (size_t)p->groups);
    if (!j->wp) return false;
    /* few rows in the whole call (a 7x7 or 14x14 map at batch 1): W left
     * where it is, each product reads it in place or packs it strip by strip
     * (tc_gemm_prepare_b_rows); not for dX over several image blocks, each
     * of which would then transpose all of W again, nor for the waves of dX
     * tiles of one block (each tile's product would pack all of W^T again) */
    const int64_t rows = transposed && (p->wblocks > 1 || j->dx_nx) ? INT64_MAX : p->N * p->rows_img;
    for (int64_t g = 0; g < p->groups; g++) {
        bool ok = transposed ? tc_gemm_prepare_b_rows(&j->wp[g], rows, true, p->Fg, p->K, p->w + g * p->Fg, p->F)
                             : tc_gemm_prepare_b_rows(&j->wp[g], rows, false, p->K, p->Fg, p->w + g * p->Fg, p->F);
        if (!ok) return false;
    }
    return true;
}

/* below this many tiles the forward pass parallelises inside each GEMM instead */
#define FEW_TILES 8

/* im2col of one large tile spread over the pool (the few-tiles path, where
 * the GEMM after it is split too: at batch 1 the copy was 7% of ResNet50's
 * time, on one thread). Each row is a plain copy of input values, so how
 * the rows are cut changes no bit. */
typedef struct {
    const conv_plan *p;
    int64_t g, r0, r1;
    tc_scalar *P;
} im2col_job;

#define IM2COL_ROWS 32 /* rows per unit: a few KB to copy at least */

static void im2col_units(void *ctx, int64_t lo, int64_t hi)
{
    const im2col_job *j = ctx;
    const int64_t a = j->r0 + lo * IM2COL_ROWS, b = j->r0 + hi * IM2COL_ROWS;
    im2col_tile(j->p, j->g, a, b < j->r1 ? b : j->r1, j->P + lo * IM2COL_ROWS * j->p->K);
}

static void im2col_parallel(const conv_plan *p, int64_t g, int64_t r0, int64_t r1, tc_scalar *P)
{
    im2col_job j = {p, g, r0, r1, P};
    tc_parallel_for((r1 - r0 + IM2COL_ROWS - 1) / IM2COL_ROWS, 1, im2col_units, &j);
}

/* Rows per forward tile: tile_rows', but an even number of tiles where
 * they are shared out whole (res2_3x3's 13 tiles split 7:6 over two
 * threads; 14 split evenly). A rule of the shape (and on our own kernel,
 * where each output row is its own product over the whole K, the cut
 * changes no bit at all). */
static int64_t forward_tiles(const conv_plan *p, int64_t rows, int64_t few)
{
    const int64_t t = tc_conv_tile_rows(p, 0, rows), n = (rows + t - 1) / t;
    if (n <= few || n % 2 == 0) return t;
    const int64_t t2 = ((rows + n) / (n + 1) + 11) / 12 * 12;
    return t2 <= p->tile && (rows + t2 - 1) / t2 % 2 == 0 ? t2 : t;
}

/* forward tiles [lo, hi) of the batch's rows */
static void forward_units(void *ctx, int64_t lo, int64_t hi)
{
    const conv_job *j = ctx;
    const conv_plan *p = j->p;
    const int64_t rows = p->N * p->rows_img, t = j->ftile;
    tc_scalar *P = j->scratch + tc_thread_id() * j->scratch_len;
    for (int64_t u = lo; u < hi; u++) {
        int64_t r0 = u * t, r1 = r0 + t < rows ? r0 + t : rows;
        tc_scalar *y = j->y + r0 * p->F;
        for (int64_t g = 0; g < p->groups; g++) {
            const tc_scalar *bg = j->bias ? j->bias + g * p->Fg : NULL;
            if (forward_runs(p, false, g, r0, r1, &j->wp[g], bg, j->zeros, j->taps, y + g * p->Fg, false)) continue;
            if (p->patches) P = p->patches + (g * rows + r0) * p->K;
            im2col_tile(p, g, r0, r1, P);
            tc_gemm_serial_b(false, r1 - r0, 1, P, p->K, &j->wp[g], bg, 0, y + g * p->Fg, p->F);
        }
        if (tc_conv_has_epilogue(p)) tc_conv_epilogue(p, y, r0, r1); /* the tile is still in cache */
    }
}

bool tc_conv_forward_kernel(const conv_plan *p, const tc_scalar *bias, tc_scalar *y)
{
    const int64_t rows = p->N * p->rows_img;
    if (p->direct) { /* the input is its own patch matrix */
        tc_gemm_b_panel own;
        const tc_gemm_b_panel *wp = p->wpk;
        if (!wp) { /* packed here once, as each part of the GEMM would pack its columns: the same bits */
            if (!tc_gemm_prepare_b_rows(&own, rows, false, p->K, p->F, p->w, p->F)) return false;
            wp = &own;
        }
        /* the epilogue on each GEMM tile as it is finished (a pass after the
         * product re-read the output: 3-4% of MobileNet-v2), or with a wide
         * residual on each part's row blocks (ep_per_part; MobileNet-v2,
         * F <= 160: 0.4% against 1.0 for the pass) */
        if (tc_conv_has_epilogue(p) &&
            tc_gemm_b_tiles(rows, p->x, p->K, wp, bias, y, p->F, tc_conv_epilogue_tile, (void *)p, ep_per_part(p)))
            return true;
        tc_gemm_b(false, rows, 1, p->x, p->K, wp, bias, 0, y, p->F);
        tc_conv_epilogue_all(p, y);
        return true;
    }
    conv_job j = {.p = p, .bias = bias, .y = y, .scratch_len = p->tile * p->K};
    j.scratch = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(tc_num_threads() * j.scratch_len));
    if (!j.scratch || !prepare_kernel(&j, false)) return false;
    /* patch runs (the kernel's A panels packed from the input) where our
     * packed kernel runs; not for runs under 16 channels (im2col's copy
     * then costs less than the pointers) nor where the patches are kept */
    if (tc_gemm_packs_b() && !p->patches && p->Cg >= 16) {
        tc_scalar *z = tc_arena_alloc(sizeof(tc_scalar) * (size_t)p->Cg);
        patch_tap *taps = tc_arena_alloc(sizeof(patch_tap) * (size_t)(p->K / p->Cg));
        if (z && taps) {
            memset(z, 0, sizeof(tc_scalar) * (size_t)p->Cg);
            tc_conv_tap_table(p, taps);
            j.zeros = z, j.taps = taps;
        }
    }
    const int64_t rows_t = forward_tiles(p, rows, FEW_TILES), ntiles = (rows + rows_t - 1) / rows_t;
    j.ftile = rows_t;
    if (ntiles > FEW_TILES) {
        tc_parallel_for(ntiles, 1, forward_units, &j);
        return true;
    }
    /* few tiles (small images, batch 1): one tile at a time, each GEMM split
     * over the pool. The choice depends on the shape only, and tc_gemm's
     * result does not depend on its split, so any thread count gives the
     * same bits. */
    for (int64_t u = 0; u < ntiles; u++) {
        int64_t r0 = u * rows_t, r1 = r0 + rows_t < rows ? r0 + rows_t : rows;
        tc_scalar *yt = y + r0 * p->F, *P = j.scratch;
        /* one group: the epilogue inside the product's region (at batch 1
         * on 2 threads each region costs a hand-over both ways) */
        const bool ep = p->groups == 1 && tc_conv_has_epilogue(p);
        if (ep && forward_runs(p, true, 0, r0, r1, &j.wp[0], bias, j.zeros, j.taps, yt, true)) continue;
        for (int64_t g = 0; g < p->groups; g++) {
            const tc_scalar *bg = bias ? bias + g * p->Fg : NULL;
            if (forward_runs(p, true, g, r0, r1, &j.wp[g], bg, j.zeros, j.taps, yt + g * p->Fg, false)) continue;
            if (p->patches) P = p->patches + (g * rows + r0) * p->K;
            im2col_parallel(p, g, r0, r1, P);
            tc_gemm_b(false, r1 - r0, 1, P, p->K, &j.wp[g], bg, 0, yt + g * p->Fg, p->F);
        }
        tc_conv_epilogue_parallel(p, yt, r0, r1); /* split like the GEMM before it */
    }
    return true;
}

/* image blocks [lo, hi): block b covers images [b*N/wblocks, (b+1)*N/wblocks); its rows are cut
 * into tiles (which may cross images: the block owns all of its images' dX) */
static void backward_blocks(void *ctx, int64_t lo, int64_t hi)
{
    const conv_job *j = ctx;
    const conv_plan *p = j->p;
    tc_scalar *P = j->scratch + tc_thread_id() * 2 * j->scratch_len, *dP = P + j->scratch_len;
    for (int64_t b = lo; b < hi; b++) {
        tc_scalar *part = j->dw_parts ? j->dw_parts + b * p->K * p->F : NULL;
        tc_scalar *bpart = j->db_parts ? j->db_parts + b * p->F : NULL;
        if (bpart) memset(bpart, 0, sizeof(tc_scalar) * (size_t)p->F);
        const int64_t b0 = b * p->N / p->wblocks * p->rows_img, b1 = (b + 1) * p->N / p->wblocks * p->rows_img;
        const int64_t t = tc_conv_tile_rows(p, b0, b1);
        if (part && j->dw_rows) { /* the block's dW from its input rows, before its dX tiles */
            memset(part, 0, sizeof(tc_scalar) * (size_t)(p->K * p->F));
            tc_conv_dw_rows(p, j->dy, part, b * p->N / p->wblocks, (b + 1) * p->N / p->wblocks, 0, p->K, P);
        }
        for (int64_t r0 = b0; r0 < b1; r0 += t) {
            int64_t r1 = r0 + t < b1 ? r0 + t : b1;
            const tc_scalar *dy = j->dy + r0 * p->F;
            if (bpart)
                tc_conv_colsum(bpart, dy, r1 - r0, p->F, false);
            for (int64_t g = 0; g < p->groups; g++) {
                if (part && !j->dw_rows) {
                    if (p->patches) P = p->patches + (g * p->N * p->rows_img + r0) * p->K; /* kept by forward */
                    else im2col_tile(p, g, r0, r1, P);
                    tc_gemm_serial(true, false, p->K, p->Fg, r1 - r0, 1, P, p->K, dy + g * p->Fg, p->F,
                                   r0 == b0 ? 0 : 1, part + g * p->Fg, p->F);
                }
                if (j->dx) {
                    tc_gemm_serial_b(false, r1 - r0, 1, dy + g * p->Fg, p->F, &j->wp[g], NULL, 0, dP, p->K);
                    tc_conv_col2im_tile(p, g, r0, r1, dP, j->dx);
                }
            }
        }
    }
}

/* dst[i] += parts[0][i] + parts[1][i] + ... (nparts blocks of len values) */
static void reduce_fixed_order(tc_scalar *dst, const tc_scalar *parts, int64_t nparts, int64_t len, int64_t lo,
                               int64_t hi)
{
    for (int64_t i = lo; i < hi; i++) {
        tc_scalar s = parts[i];
        for (int64_t b = 1; b < nparts; b++) s += parts[b * len + i];
        dst[i] += s;
    }
}

static void reduce_dw(void *ctx, int64_t lo, int64_t hi)
{
    const conv_job *j = ctx;
    reduce_fixed_order(j->dw, j->dw_parts, j->p->wblocks, j->p->K * j->p->F, lo, hi);
}

bool tc_conv_backward_kernel(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, tc_scalar *dw, tc_scalar *db)
{
    const int64_t rows = p->N * p->rows_img;
    if (db && (p->direct || (!dx && !dw))) { /* row by row in a fixed order */
        tc_conv_colsum(db, dy, rows, p->F, true);
        db = NULL;
    }
    if (p->direct) {
        tc_conv_backward_direct(p, dy, dx, false, dw, NULL); /* db done above */
        return true;
    }
    if (!dx && !dw) return true;
    conv_job j = {.p = p, .dy = dy, .dx = dx, .dw = dw, .db = db, .scratch_len = p->tile * p->K};
    j.scratch = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(tc_num_threads() * 2 * j.scratch_len));
    if (dx && p->wblocks < 2) j.dx_nx = tc_conv_dx_tiles(p, &j.dx_bounds); /* before prepare_kernel: it packs W^T for them */
    if (!j.scratch || (dx && !prepare_kernel(&j, true))) return false;
    /* the blocks' P tile (scratch_len values) or the one block's P and dP */
    j.dw_rows = dw && tc_conv_dw_rows_enabled() && tc_conv_dw_rows_ok(p, p->wblocks >= 2 ? j.scratch_len : 2 * j.scratch_len);
    /* One image block: its products add straight into dw (beta 1 from the
     * first tile), with no partial sum to reduce afterwards: that pass read
     * and wrote K x F values twice more (18% of res5_3x3's batch-1 training
     * step, K x F = 2.4M). On a gradient that starts at zero the bits are
     * those of dw += part (0 + t0 = t0, then the same additions in order). */
    if (dw && p->wblocks >= 2) {
        j.dw_parts = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(p->wblocks * p->K * p->F));
        if (!j.dw_parts) return false;
    }
    if (db) {
        j.db_parts = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(p->wblocks * p->F));
        if (!j.db_parts) return false;
    }
    if (p->wblocks >= 2) tc_parallel_for(p->wblocks, 1, backward_blocks, &j);
    else if (!tc_conv_backward_one_block(&j)) return false;
    /* 16K values a chunk: a WaveNet layer's kernel (2 x 64 x 128) is one
     * chunk on the calling thread (a wake-up of the pool costs more than
     * 16K adds); each value's sum is the same however it is cut */
    if (dw && j.dw_parts) tc_parallel_for(p->K * p->F, 16384, reduce_dw, &j);
    if (db) reduce_fixed_order(db, j.db_parts, p->wblocks, p->F, 0, p->F);
    return true;
}
