/* Thin convolutions (groups = 1, C <= 4 input channels). On AVX2 and AVX-512
 * float builds the direct kernels of conv_thin_direct.c run (no patch matrix,
 * every gradient, strided ones phase by phase); this file's patch path
 * serves the double build (gradient checks).
 *
 * Patch kernels for thin convolutions (groups = 1, C <= 4 input channels:
 * the first layers of the cookbook's CNNs, C3D's and WaveNet's), instead of
 * im2col + sgemm with K = k*k*C = 3 to 108, where sgemm's packing and its
 * K-blocking cost more than the arithmetic.
 *
 * Output rows (positions) are cut into tiles of TILE rows. A tile's patch
 * matrix P [T, K] (K floats per row: as small as the tile's output when
 * F >= K) is built into L1/L2-resident scratch, then the small register-
 * tiled GEMM of conv_thin.h, one version per instruction set, does
 *   forward:  Y_tile  = P_tile @ W + bias              parallel over tiles
 *   backward: dW_b   += P_tile^T @ dY_tile              per fixed image block b
 *             dP      = dY_tile @ W^T, col2im into dX   (only when dX is wanted)
 *             dW     += dW_0 + dW_1 + ... in block order (the bias alike).
 * The patches are rebuilt in backward (cheaper than keeping them), tiles and
 * blocks depend on the shapes only, and every output sums its terms in a
 * fixed order, so results are bit-identical for any thread count on each
 * instruction-set path. */
#include "conv.h"
#include "conv_thin.h"

/* rows per tile: a multiple of every register-tile height (24, 12, 8, 6, 4) */
#define TILE 192

/* The portable path of tc_thin_gemm measured 1.9 GFLOP/s on MNIST conv1 against ~4 for
 * im2col + OpenBLAS, so float builds on the generic ISA keep the im2col path; the
 * double build (gradient checks) runs the portable kernel. */
bool tc_conv_is_thin(const conv_plan *p)
{
#ifndef TC_DOUBLE
    if (tc_isa() == TC_ISA_GENERIC) return false;
#endif
    return p->groups == 1 && p->C <= 4 && !p->direct;
}

void tc_thin_gemm_generic(TC_THIN_GEMM_ARGS)
{
    enum { MB = 4, NB = 64 };
    for (int64_t n0 = 0; n0 < N; n0 += NB) {
        int64_t nb = N - n0 < NB ? N - n0 : NB;
        for (int64_t m0 = 0; m0 < M; m0 += MB) {
            int64_t mb = M - m0 < MB ? M - m0 : MB;
            tc_scalar acc[MB][NB];
            for (int64_t r = 0; r < mb; r++)
                for (int64_t n = 0; n < nb; n++)
                    acc[r][n] = bias ? bias[n0 + n] : accumulate ? C[(m0 + r) * ldc + n0 + n] : 0;
            for (int64_t k = 0; k < K; k++) {
                const tc_scalar *b = B + k * ldb + n0;
                for (int64_t r = 0; r < mb; r++) {
                    tc_scalar a = A[(m0 + r) * ars + k * aks];
                    for (int64_t n = 0; n < nb; n++) acc[r][n] += a * b[n];
                }
            }
            for (int64_t r = 0; r < mb; r++)
                for (int64_t n = 0; n < nb; n++) C[(m0 + r) * ldc + n0 + n] = acc[r][n];
        }
    }
}

typedef void (*thin_gemm_fn)(TC_THIN_GEMM_ARGS);

static thin_gemm_fn pick_gemm(void)
{
#ifndef TC_DOUBLE
    switch (tc_isa()) {
    case TC_ISA_AVX512: return tc_thin_gemm_avx512;
    case TC_ISA_AVX2: return tc_thin_gemm_avx2;
    default: break;
    }
#endif
    return tc_thin_gemm_generic;
}

/* position r (batch-wide row) -> image and output coordinates */
typedef struct {
    int64_t n, od, oh, ow;
} out_pos;

static out_pos pos_of(const conv_plan *p, int64_t r)
{
    int64_t o = r % p->rows_img;
    return (out_pos){r / p->rows_img, o / p->OW / p->OH, (o / p->OW) % p->OH, o % p->OW};
}

static void next_pos(const conv_plan *p, out_pos *q)
{
    if (++q->ow < p->OW) return;
    q->ow = 0;
    if (++q->oh < p->OH) return;
    q->oh = 0;
    if (++q->od < p->OD) return;
    q->od = 0, q->n++;
}

/* P [r1-r0, K] = patches of batch rows [r0, r1), zeros in the padding */
static void patches(const conv_plan *p, int64_t r0, int64_t r1, tc_scalar *P)
{
    const int64_t C = p->C, image = p->D * p->H * p->W * C;
    out_pos q = pos_of(p, r0);
    for (int64_t r = r0; r < r1; r++, next_pos(p, &q)) {
        tc_scalar *dst = P + (r - r0) * p->K;
        const tc_scalar *xn = p->x + q.n * image;
        for (int64_t kd = 0; kd < p->k[0]; kd++) {
            int64_t id = q.od * p->s[0] - p->pb[0] + kd * p->dl[0];
            bool din = id >= 0 && id < p->D;
            for (int64_t kh = 0; kh < p->k[1]; kh++) {
                int64_t ih = q.oh * p->s[1] - p->pb[1] + kh * p->dl[1];
                bool hin = din && ih >= 0 && ih < p->H;
                const tc_scalar *xrow = hin ? xn + (id * p->H + ih) * p->W * C : NULL;
                int64_t iw = q.ow * p->s[2] - p->pb[2];
                for (int64_t kw = 0; kw < p->k[2]; kw++, iw += p->dl[2], dst += C) {
                    bool in = hin && iw >= 0 && iw < p->W;
                    for (int64_t c = 0; c < C; c++) dst[c] = in ? xrow[iw * C + c] : 0;
                }
            }
        }
    }
}

/* dx += col2im(dP) for batch rows [r0, r1) */
static void col2im(const conv_plan *p, int64_t r0, int64_t r1, const tc_scalar *dP, tc_scalar *dx)
{
    const int64_t C = p->C, image = p->D * p->H * p->W * C;
    out_pos q = pos_of(p, r0);
    for (int64_t r = r0; r < r1; r++, next_pos(p, &q)) {
        const tc_scalar *src = dP + (r - r0) * p->K;
        tc_scalar *dxn = dx + q.n * image;
        for (int64_t kd = 0; kd < p->k[0]; kd++) {
            int64_t id = q.od * p->s[0] - p->pb[0] + kd * p->dl[0];
            bool din = id >= 0 && id < p->D;
            for (int64_t kh = 0; kh < p->k[1]; kh++) {
                int64_t ih = q.oh * p->s[1] - p->pb[1] + kh * p->dl[1];
                bool hin = din && ih >= 0 && ih < p->H;
                tc_scalar *xrow = hin ? dxn + (id * p->H + ih) * p->W * C : NULL;
                int64_t iw = q.ow * p->s[2] - p->pb[2];
                for (int64_t kw = 0; kw < p->k[2]; kw++, iw += p->dl[2], src += C) {
                    if (!hin || iw < 0 || iw >= p->W) continue;
                    for (int64_t c = 0; c < C; c++) xrow[iw * C + c] += src[c];
                }
            }
        }
    }
}

typedef struct {
    const conv_plan *p;
    thin_gemm_fn gemm;
    const tc_scalar *bias, *dy, *wt; /* wt: W^T [F, K] for dX */
    tc_scalar *y, *dx, *dw_parts, *db_parts;
    tc_scalar *scratch; /* per thread: P tile [TILE, K], dP tile [TILE, K] */
} thin_job;

static void forward_tiles(void *ctx, int64_t lo, int64_t hi)
{
    const thin_job *j = ctx;
    const conv_plan *p = j->p;
    const int64_t rows = p->N * p->rows_img;
    tc_scalar *P = j->scratch + tc_thread_id() * 2 * TILE * p->K;
    for (int64_t u = lo; u < hi; u++) {
        int64_t r0 = u * TILE, r1 = r0 + TILE < rows ? r0 + TILE : rows;
        patches(p, r0, r1, P);
        j->gemm(r1 - r0, p->F, p->K, P, p->K, 1, p->w, p->F, j->bias, false, j->y + r0 * p->F, p->F);
        if (tc_conv_has_epilogue(p)) tc_conv_epilogue(p, j->y + r0 * p->F, r0, r1);
    }
}

bool tc_conv_thin_forward(const conv_plan *p, const tc_scalar *bias, tc_scalar *y)
{
#ifndef TC_DOUBLE
    const thin_direct_kernels *dk = tc_thin_direct_pick();
    if (dk) return tc_conv_thin_direct_forward(p, dk, bias, y);
#endif
    tc_scalar *zeros = NULL;
    if (!bias) { /* the kernel starts from the bias row: give it zeros */
        zeros = tc_arena_alloc(sizeof(tc_scalar) * (size_t)p->F);
        if (!zeros) return false;
        memset(zeros, 0, sizeof(tc_scalar) * (size_t)p->F);
    }
    thin_job j = {.p = p, .gemm = pick_gemm(), .bias = bias ? bias : zeros, .y = y};
    j.scratch = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(tc_num_threads() * 2 * TILE * p->K));
    if (!j.scratch) return false;
    tc_parallel_for((p->N * p->rows_img + TILE - 1) / TILE, 1, forward_tiles, &j);
    return true;
}

/* image blocks [lo, hi) (block b: images [b*N/wblocks, (b+1)*N/wblocks)) */
static void backward_blocks(void *ctx, int64_t lo, int64_t hi)
{
    const thin_job *j = ctx;
    const conv_plan *p = j->p;
    const int64_t K = p->K, F = p->F;
    tc_scalar *P = j->scratch + tc_thread_id() * 2 * TILE * K, *dP = P + TILE * K;
    for (int64_t b = lo; b < hi; b++) {
        tc_scalar *dw = j->dw_parts ? j->dw_parts + b * K * F : NULL, *db = j->db_parts ? j->db_parts + b * F : NULL;
        if (db) memset(db, 0, sizeof(tc_scalar) * (size_t)F);
        const int64_t b0 = b * p->N / p->wblocks * p->rows_img, b1 = (b + 1) * p->N / p->wblocks * p->rows_img;
        for (int64_t r0 = b0; r0 < b1; r0 += TILE) {
            int64_t r1 = r0 + TILE < b1 ? r0 + TILE : b1;
            const tc_scalar *dy = j->dy + r0 * F;
            if (db)
                for (int64_t r = r0; r < r1; r++) tc_accumulate(db, dy + (r - r0) * F, F);
            if (dw) {
                patches(p, r0, r1, P);
                j->gemm(K, F, r1 - r0, P, 1, K, dy, F, NULL, r0 != b0, dw, F);
            }
            if (j->dx) {
                j->gemm(r1 - r0, K, F, dy, F, 1, j->wt, K, NULL, false, dP, K);
                col2im(p, r0, r1, dP, j->dx);
            }
        }
    }
}

bool tc_conv_thin_backward(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, tc_scalar *dw, tc_scalar *db)
{
    const int64_t K = p->K, F = p->F, nb = p->wblocks;
    if (!dx && !dw && !db) return true;
#ifndef TC_DOUBLE
    const thin_direct_kernels *dk = tc_thin_direct_pick();
    if (dk) return tc_conv_thin_direct_backward(p, dk, dy, dx, dw, db);
#endif
    thin_job j = {.p = p, .gemm = pick_gemm(), .dy = dy, .dx = dx};
    j.scratch = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(tc_num_threads() * 2 * TILE * K));
    if (!j.scratch) return false;
    if (dw && !(j.dw_parts = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(nb * K * F)))) return false;
    if (db && !(j.db_parts = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(nb * F)))) return false;
    if (dx) {
        tc_scalar *wt = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(K * F));
        if (!wt) return false;
        for (int64_t k = 0; k < K; k++)
            for (int64_t f = 0; f < F; f++) wt[f * K + k] = p->w[k * F + f];
        j.wt = wt;
    }
    tc_parallel_for(nb, 1, backward_blocks, &j);
    for (int64_t b = 0; b < nb; b++) { /* fixed order; K*F values per block */
        if (dw) tc_accumulate(dw, j.dw_parts + b * K * F, K * F);
        if (db) tc_accumulate(db, j.db_parts + b * F, F);
    }
    return true;
}
