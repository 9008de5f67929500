/* Packed SGEMM driver: B is packed in KC x NC blocks of NR-wide strips, A in
 * MC x KC blocks of MR-high strips (zero padded), and a register-blocked
 * micro-kernel computes each MR x NR tile.
 *
 * Why the bits never depend on the thread count: an element of C gets, for
 * each K block p0 = 0, KC, 2 KC, ... (fixed steps from 0), one kernel call
 * that sums its kc products in order in its own accumulator lane and then
 * adds alpha * sum to C (beta applied in the first block). A kernel lane
 * never mixes with its neighbours, and edge tiles run the same full kernel
 * on a copy, so where an element falls in a tile, a strip or a thread's
 * share changes nothing. The partition of the work below depends on the
 * thread count; the operations on each element do not.
 *
 * Threading (for one product on the pool): the output is cut into a grid of
 * tm x tn parts (rows in MR strips, columns in NR strips), one per thread,
 * tm x tn <= threads, chosen from the shape so that the largest part costs
 * least (tiles plus the packing it does). Each part packs the B blocks of
 * its own columns and the A blocks of its own rows and never waits for
 * another: one dispatch per product. A shared B block (packed once, split
 * over the threads) was tried first; it needs two dispatches per KC block,
 * and on this shared 2-core machine every sync point waits for a thread the
 * OS has descheduled (CPU time per 1024^3 product at 2 threads 29.4 ms
 * against 23.1 at 1), while a second copy of B costs one part about 1% of
 * its time (B is packed at ~0.3 ns per float). With few rows (M of one or
 * two MC blocks) the grid splits columns, so no B strip is packed twice.
 * Pack buffers belong to the calling thread (thread-local, grown to the
 * largest product seen and kept: no malloc in steady state), one B block
 * and one A block per part, so pool workers never allocate. */
#include "gemm_pack.h"
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GEMM_KC 256
#define GEMM_MC_TILES 24 /* MC = 24 * MR rows of A per block */
#define GEMM_NC 2048
/* below this many flops a product stays on the calling thread (a dispatch
 * costs a few microseconds) */
#define GEMM_PARALLEL_FLOPS 4e6

/* ---- per-thread pack buffers ------------------------------------------ */
typedef struct {
    float *mem;
    size_t cap; /* floats */
} pack_bufs;

static pthread_key_t bufs_key;
static pthread_once_t bufs_once = PTHREAD_ONCE_INIT;
static int bufs_key_ok;
static _Thread_local pack_bufs *mine;

static void bufs_free(void *p)
{
    pack_bufs *pb = p;
    if (!pb) return;
    free(pb->mem);
    free(pb);
}

/* pool workers that ran a product (nested calls) free theirs at exit */
static void bufs_key_make(void) { bufs_key_ok = pthread_key_create(&bufs_key, bufs_free) == 0; }

void tc_sgemm_packed_release(void)
{
    if (!mine) return;
    if (bufs_key_ok) pthread_setspecific(bufs_key, NULL);
    bufs_free(mine);
    mine = NULL;
}

/* The calling thread's buffer of at least floats floats (64-byte aligned),
 * or NULL when memory is short. */
static float *thread_buffer(size_t floats)
{
    pthread_once(&bufs_once, bufs_key_make);
    if (!bufs_key_ok) return NULL;
    if (!mine) {
        mine = calloc(1, sizeof *mine);
        if (!mine) return NULL;
        if (pthread_setspecific(bufs_key, mine) != 0) {
            free(mine);
            mine = NULL;
            return NULL;
        }
    }
    if (mine->cap < floats) {
        size_t cap = floats + floats / 4; /* some head room for the next shape */
        float *mem = aligned_alloc(64, (cap * sizeof(float) + 63) / 64 * 64);
        if (!mem) return NULL;
        free(mine->mem);
        mine->mem = mem;
        mine->cap = cap;
    }
    return mine->mem;
}

/* ---- packing ------------------------------------------------------------ */
/* one row of a full strip: constant sizes, so the copy is a few vector moves */
static inline void copy_row(float *d, const float *src, int nr)
{
    if (nr == 32) memcpy(d, src, 32 * sizeof(float));
    else if (nr == 16) memcpy(d, src, 16 * sizeof(float));
    else if (nr == 6) memcpy(d, src, 6 * sizeof(float));
    else if (nr == 4) memcpy(d, src, 4 * sizeof(float));
    else memcpy(d, src, (size_t)nr * sizeof(float));
}

/* strips s0..s1-1 of the KC x NC block (p0, j0) of op(B) */
static void pack_b(const tc_sgemm_kernel_info *kern, bool tb, const float *b, int64_t ldb, int64_t p0, int64_t kc,
                   int64_t j0, int64_t nc, int64_t s0, int64_t s1, float *dst)
{
    const int nr = kern->nr;
    if (!tb) {
        /* row by row of B: the reads stream through memory (strip by strip,
         * each row of a strip was a new page and a cache miss: 7% of a
         * 1024^3 product) */
        const int64_t full = nc / nr < s1 ? nc / nr : s1; /* strips s0..full-1 are whole */
        for (int64_t p = 0; p < kc; p++) {
            const float *src = b + (p0 + p) * ldb + j0;
            for (int64_t s = s0; s < full; s++) copy_row(dst + s * kc * nr + p * nr, src + s * nr, nr);
        }
        if (full < s1) { /* the last, narrower strip: zero padded */
            const int64_t js = full * nr, w = nc - js;
            float *d = dst + full * kc * nr;
            for (int64_t p = 0; p < kc; p++) {
                memcpy(d + p * nr, b + (p0 + p) * ldb + j0 + js, (size_t)w * sizeof(float));
                for (int64_t j = w; j < nr; j++) d[p * nr + j] = 0;
            }
        }
        return;
    }
    for (int64_t s = s0; s < s1; s++) {
        const int64_t js = s * nr, w = nc - js < nr ? nc - js : nr;
        float *d = dst + s * kc * nr;
        if (w == nr && kern->pack_bt) {
            kern->pack_bt(b + (j0 + js) * ldb + p0, ldb, kc, nr, d);
            continue;
        }
        for (int64_t j = 0; j < w; j++) {
            const float *src = b + (j0 + js + j) * ldb + p0;
            for (int64_t p = 0; p < kc; p++) d[p * nr + j] = src[p];
        }
        if (w < nr)
            for (int64_t p = 0; p < kc; p++)
                for (int64_t j = w; j < nr; j++) d[p * nr + j] = 0;
    }
}

/* rows i0..i0+mc-1, columns p0..p0+kc-1 of op(A), in MR-high strips */
static void pack_a(const tc_sgemm_kernel_info *kern, bool ta, const float *a, int64_t lda, int64_t i0, int64_t mc,
                   int64_t p0, int64_t kc, float *dst)
{
    const int mr = kern->mr;
    for (int64_t is = 0; is < mc; is += mr) {
        const int64_t h = mc - is < mr ? mc - is : mr;
        float *d = dst + (is / mr) * kc * mr;
        if (ta && h == 6 && kern->pack_at6) {
            kern->pack_at6(a + p0 * lda + i0 + is, lda, kc, d);
        } else if (ta && h == mr) {
            /* op(A) = A^T: column p of op(A) is row p of A. Strip by strip: a
             * row's 64-byte line serves 2-3 strips and stays in L1 between
             * them (row by row over all strips missed L1 on the scattered
             * stores, groups of four strips were no better: 800x64x1600) */
            for (int64_t p = 0; p < kc; p++) copy_row(d + p * mr, a + (p0 + p) * lda + i0 + is, mr);
        } else if (ta) {
            for (int64_t p = 0; p < kc; p++) memcpy(d + p * mr, a + (p0 + p) * lda + i0 + is, (size_t)h * sizeof(float));
        } else if (h == 6 && kern->pack_a6) {
            /* in-register transposes (row by row at stride MR stalled on the
             * stores: 8% of a 1024^3 product, a third of a conv tile's) */
            kern->pack_a6(a + (i0 + is) * lda + p0, lda, kc, d);
        } else {
            for (int64_t p = 0; p < kc; p++)
                for (int64_t i = 0; i < h; i++) d[p * mr + i] = a[(i0 + is + i) * lda + p0 + p];
        }
        if (h < mr)
            for (int64_t p = 0; p < kc; p++)
                for (int64_t i = h; i < mr; i++) d[p * mr + i] = 0;
    }
}

/* rows i0..i0+mc-1, columns p0..p0+kc-1 of the op(A) that the runs
 * describe, in 6-high strips: the strips pack_a writes from that matrix
 * (rows past m come as zeros from runs6, as pack_a pads them). Each
 * strip is filled run by run, a run's part inside the K block at a time,
 * so the 2 floats pack_a6r may write past a segment land where the next
 * segment (or strip, or the block's slack) is written after it. */
static void pack_a_runs(const tc_sgemm_kernel_info *kern, const tc_gemm_a_runs *ar, int64_t i0, int64_t mc,
                        int64_t p0, int64_t kc, float *dst)
{
#ifdef TC_DOUBLE /* runs of doubles never reach the float kernels (tc_gemm_b_runs refuses them) */
    (void)kern, (void)ar, (void)i0, (void)mc, (void)p0, (void)kc, (void)dst;
#else
    const int64_t len = ar->run_len, t_end = (p0 + kc - 1) / len + 1;
    const float *r[TC_GEMM_RUNS_MAX][6];
    for (int64_t is = 0; is < mc; is += 6) {
        float *d = dst + is * kc;
        /* the runs of the K block, a table of pointers at a time (the
         * caller's coordinate arithmetic once per strip and table, not per run) */
        for (int64_t t0 = p0 / len; t0 < t_end; t0 += TC_GEMM_RUNS_MAX) {
            const int64_t nt = t_end - t0 < TC_GEMM_RUNS_MAX ? t_end - t0 : TC_GEMM_RUNS_MAX;
            ar->runs6(ar->ctx, i0 + is, t0, nt, r);
            for (int64_t u = 0; u < nt; u++) {
                const int64_t q0 = (t0 + u) * len, lo = q0 > p0 ? q0 : p0;
                const int64_t hi = q0 + len < p0 + kc ? q0 + len : p0 + kc;
                const float *rr[6];
                for (int i = 0; i < 6; i++) rr[i] = r[u][i] + (lo - q0);
                kern->pack_a6r(rr, hi - lo, d + (lo - p0) * 6);
            }
        }
    }
#endif
}

/* ---- the product, shared out over tm x tn parts ---------------------- */
typedef struct {
    const tc_sgemm_kernel_info *kern;
    bool ta, tb;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int tm, tn;               /* grid of parts */
    int64_t mstrips, nstrips; /* MR strips of C's rows, NR strips of its columns */
    float *buf;               /* per part: packed B block, then packed A block */
    int64_t b_floats, a_floats;
    const float *bpk;         /* all of op(B) packed (tc_sgemm_pack_b), or NULL: each part packs */
    const float *bias;        /* n values: C starts as this row in every row, beta 1 (or NULL) */
    const tc_gemm_a_runs *ar; /* op(A) as runs (tc_sgemm_packed_runs), or NULL: a, lda */
    bool a_in_place;          /* full A strips read where they lie (kern->kernel_ua), see a_in_place */
    bool runs_in_place;       /* A's runs read where they lie (kern->kernel_ur), see runs_in_place */
    bool few_rows;            /* tc_sgemm_few_rows: run_part_few_rows' loop */
    const tc_sgemm_tile_ep *ep; /* run on each finished tile of C (after its last K block), or NULL */
} gemm_drv;

/* Whether the kernel reads the full strips of a row-major A in place: where
 * it has such a kernel and the product has at most IN_PLACE_STRIPS strips
 * of columns, so that a packed A strip would serve only a few tiles (res2's
 * 1x1 layers and the input gradients of 64-filter layers: N = 64, packing A
 * cost 5-9% of them). Wider products keep the packed, contiguous strips. */
#define IN_PLACE_STRIPS 4
static bool a_in_place(const tc_sgemm_kernel_info *kern, bool ta, const tc_gemm_a_runs *ar, int64_t nstrips)
{
    return (ta ? kern->kernel_uat : kern->kernel_ua) && !ar && nstrips <= IN_PLACE_STRIPS;
}

/* Whether the kernel reads A's runs in place (kern->kernel_ur) instead of
 * pack_a_runs transposing them into strips: for the same narrow products
 * as a_in_place (N <= 128: a strip would serve at most 4 kernel calls) and
 * runs of at least RUNS_IN_PLACE_MIN values, so that a K block spans at
 * most RUNS_BLOCK_MAX of them (the driver's table of run pointers). */
#define RUNS_IN_PLACE_MIN 16
#define RUNS_BLOCK_MAX (GEMM_KC / RUNS_IN_PLACE_MIN + 1)
static bool runs_in_place(const tc_sgemm_kernel_info *kern, const tc_gemm_a_runs *ar, int64_t nstrips)
{
    return kern->kernel_ur && ar && ar->run_len >= RUNS_IN_PLACE_MIN && nstrips <= IN_PLACE_STRIPS;
}

/* The run pointers of the MC block's strips for K block p0..p0+kc-1:
 * tab[s][u] holds run t0 + u of strip s's six rows, t0 = p0 / run_len. */
static void runs_table(const tc_gemm_a_runs *ar, int64_t i0, int64_t i1, int64_t p0, int64_t kc,
                       const float *(*tab)[RUNS_BLOCK_MAX][6])
{
#ifdef TC_DOUBLE
    (void)ar, (void)i0, (void)i1, (void)p0, (void)kc, (void)tab;
#else
    const int64_t len = ar->run_len, t0 = p0 / len, nt = (p0 + kc - 1) / len + 1 - t0;
    for (int64_t is = i0; is < i1; is += 6) ar->runs6(ar->ctx, is, t0, nt, tab[(is - i0) / 6]);
#endif
}

/* The first K block of a tile with a bias row: the tile is filled with the
 * bias just before the kernel reads it (beta = 1), so the kernel does what
 * it did when the caller had copied the bias into every row of C first,
 * without that separate pass over C (it cost 14% of MobileNet-v2). */
static inline void bias_fill(float *ct, int64_t ldc, const float *bias, int64_t h, int64_t w)
{
    for (int64_t i = 0; i < h; i++) memcpy(ct + i * ldc, bias, (size_t)w * sizeof(float));
}

/* Products of few rows (tc_sgemm_few_rows): at most FEW_ROWS_STRIPS MR
 * strips (an A block of 384 x 256 floats stays in L2) and more column
 * strips than IN_PLACE_STRIPS (narrower products read A in place instead) */
#define FEW_ROWS_STRIPS 64

bool tc_sgemm_few_rows(const tc_sgemm_kernel_info *kern, int64_t m, int64_t n)
{
    /* m compared before any rounding: callers may pass INT64_MAX for "many" */
    return m > 1 && m <= (int64_t)FEW_ROWS_STRIPS * kern->mr && n > (int64_t)IN_PLACE_STRIPS * kern->nr;
}

/* Whether a few-row part of m rows runs in 7-row tiles (kern->kernel_rows7):
 * when 7 divides m and 6-row strips would waste over 4% of their rows (M =
 * 49: 54 rows, the 7x7 maps at batch 1; 98 at batch 2). A rule of the
 * shape, and the 7-row kernel gives the 6-row kernel's bits anyway. */
static bool few_rows_in_sevens(const tc_sgemm_kernel_info *kern, int64_t m)
{
    const int64_t padded = (m + 5) / 6 * 6;
    return kern->kernel_rows7 && kern->mr == 6 && m % 7 == 0 && (padded - m) * 25 > m;
}

/* run_part_few_rows' tiles over one KC x NR block of B (bt, k steps ldbt
 * apart; w of its nr columns real) in 7-row strips: rows i0..i1-1 (a
 * multiple of 7) of the part's 6-high packed A block ap. Bias fill and the
 * right edge tile copy as in run_part_few_rows; every strip is full height. */
static void few_rows_tiles7(const gemm_drv *d, int64_t i0, int64_t i1, const float *ap, int64_t kc, const float *bt,
                            int64_t ldbt, int64_t j, int64_t w, bool first, bool fill, float *tile)
{
    const int nr = d->kern->nr;
    for (int64_t is = i0; is < i1; is += 7) {
        const float *a7[7];
        for (int i = 0; i < 7; i++) {
            const int64_t r = is - i0 + i; /* row r of the block: strip r / 6, lane r % 6 */
            a7[i] = ap + r / 6 * 6 * kc + r % 6;
        }
        float *ct = d->c + is * d->ldc + j, *cw = ct;
        int64_t ldw = d->ldc;
        if (w < nr) {
            cw = tile, ldw = nr;
            if (fill) bias_fill(tile, nr, d->bias + j, 7, w);
            else
                for (int64_t i = 0; i < 7; i++)
                    for (int64_t q = 0; q < w; q++) tile[i * nr + q] = ct[i * d->ldc + q];
        } else if (fill) {
            for (int64_t i = 0; i < 7; i++) copy_row(ct + i * d->ldc, d->bias + j, nr);
        }
        d->kern->kernel_rows7(kc, a7, bt, ldbt, cw, ldw, d->alpha, d->beta, first);
        if (cw == tile)
            for (int64_t i = 0; i < 7; i++)
                for (int64_t q = 0; q < w; q++) ct[i * d->ldc + q] = tile[i * nr + q];
    }
}

/* A part of a product with few rows (the grid then splits columns only).
 * Per K block all the part's rows are packed into one A block; then each
 * KC x NR block of op(B) is read where it lies (kern->kernel_ub: B
 * row-major, a full strip) or packed into one strip buffer (B^T, the last
 * part strip, kernels without kernel_ub) just before all the M strips pass
 * over it: read from memory once, from L1/L2 by the later strips, and
 * never written out whole (packing all of W, 9.4 MB for 3x3x512x512, and
 * reading it back cost a fifth of a 7x7 layer). The kernel calls are those
 * of run_parts' blocked loop (the same K blocks, first flags, bias fill and
 * edge tile copies), and kernel_ub computes what kernel does on the packed
 * strip: the same bits. Rows in sevens (few_rows_in_sevens) go through
 * few_rows_tiles7 over the same packed A and B blocks: the same bits too. */
static void run_part_few_rows(const gemm_drv *d, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float *bp, float *ap)
{
    const tc_sgemm_kernel_info *kern = d->kern;
    const int mr = kern->mr, nr = kern->nr;
    const int64_t i0 = r0 * mr, i1 = r1 * mr < d->m ? r1 * mr : d->m;
    /* In place only for one MC block of rows and B rows under 4 KB apart.
     * With rows 4 or 8 KB apart (F = 1024, 2048) a KC x 32 block falls into
     * a few cache sets and is evicted before the next M strip (res5's 1x1
     * with F = 2048: forward 25% slower than packed); with more rows
     * (14x14: 33 strips) an L1-resident packed strip serves them as fast
     * (VGG's conv5_3: the same time either way, under load). Both ways give
     * the same bits. */
    const bool in_place_b = kern->kernel_ub && d->mstrips <= GEMM_MC_TILES && d->ldb < 1024;
    const bool sevens = few_rows_in_sevens(kern, i1 - i0);
    float tile[64 * 64];
    for (int64_t p0 = 0; p0 < d->k; p0 += GEMM_KC) {
        const int64_t kc = d->k - p0 < GEMM_KC ? d->k - p0 : GEMM_KC;
        const bool first = p0 == 0, fill = first && d->bias;
        if (d->ar) pack_a_runs(kern, d->ar, i0, i1 - i0, p0, kc, ap);
        else pack_a(kern, d->ta, d->a, d->lda, i0, i1 - i0, p0, kc, ap);
        for (int64_t s = c0; s < c1; s++) {
            const int64_t j = s * nr, w = d->n - j < nr ? d->n - j : nr;
            const bool in_place = !d->tb && w == nr && in_place_b;
            const float *bt = d->b + p0 * d->ldb + j;
            if (!in_place) {
                pack_b(kern, d->tb, d->b, d->ldb, p0, kc, j, w, 0, 1, bp);
                bt = bp;
            }
            if (sevens) {
                few_rows_tiles7(d, i0, i1, ap, kc, bt, in_place ? d->ldb : nr, j, w, first, fill, tile);
                continue;
            }
            for (int64_t is = i0; is < i1; is += mr) {
                const int64_t h = i1 - is < mr ? i1 - is : mr;
                const float *at = ap + (is - i0) * kc;
                float *ct = d->c + is * d->ldc + j, *cw = ct;
                int64_t ldw = d->ldc;
                if (h < mr || w < nr) { /* edge tile: the full kernel on a copy, as in run_parts */
                    cw = tile, ldw = nr;
                    if (fill) bias_fill(tile, nr, d->bias + j, h, w);
                    else
                        for (int64_t i = 0; i < h; i++)
                            for (int64_t q = 0; q < w; q++) tile[i * nr + q] = ct[i * d->ldc + q];
                } else if (fill) {
                    for (int64_t i = 0; i < mr; i++) copy_row(ct + i * d->ldc, d->bias + j, nr);
                }
                if (in_place) kern->kernel_ub(kc, at, bt, d->ldb, cw, ldw, d->alpha, d->beta, first);
                else kern->kernel(kc, at, bt, cw, ldw, d->alpha, d->beta, first);
                if (cw == tile)
                    for (int64_t i = 0; i < h; i++)
                        for (int64_t q = 0; q < w; q++) ct[i * d->ldc + q] = tile[i * nr + q];
            }
        }
    }
    if (d->ep) { /* the part's tiles are finished only after its last K block */
        const int64_t j0 = c0 * nr, j1 = c1 * nr < d->n ? c1 * nr : d->n;
        d->ep->fn(d->ep->ctx, d->c + i0 * d->ldc + j0, d->ldc, i0, i1 - i0, j0, j1 - j0);
    }
}

/* Part t of the grid: C rows in MR strips r0..r1-1, columns in NR strips
 * c0..c1-1, in NC x KC blocks of its own columns (B packed by the part),
 * MC x KC blocks of its own rows (A packed by the part). */
static void run_parts(void *ctx, int64_t t0, int64_t t1)
{
    const gemm_drv *d = ctx;
    const int mr = d->kern->mr, nr = d->kern->nr;
    const int64_t nc_strips = GEMM_NC / nr;
    float tile[64 * 64];
    const float *rtab[d->runs_in_place ? GEMM_MC_TILES : 1][RUNS_BLOCK_MAX][6];
    const tc_sgemm_tile_ep *tile_ep = d->ep && !d->ep->per_part ? d->ep : NULL;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t tr = t / d->tn, tcol = t % d->tn;
        const int64_t r0 = d->mstrips * tr / d->tm, r1 = d->mstrips * (tr + 1) / d->tm;
        const int64_t c0 = d->nstrips * tcol / d->tn, c1 = d->nstrips * (tcol + 1) / d->tn;
        if (r0 >= r1 || c0 >= c1) continue;
        float *bp = d->buf + t * (d->b_floats + d->a_floats), *ap = bp + d->b_floats;
        if (d->few_rows) {
            run_part_few_rows(d, r0, r1, c0, c1, bp, ap);
            continue;
        }
        for (int64_t cs = c0; cs < c1; cs += nc_strips) {
            const int64_t cs1 = cs + nc_strips < c1 ? cs + nc_strips : c1;
            const int64_t j0 = cs * nr, nc = (cs1 * nr < d->n ? cs1 * nr : d->n) - j0;
            for (int64_t p0 = 0; p0 < d->k; p0 += GEMM_KC) {
                const int64_t kc = d->k - p0 < GEMM_KC ? d->k - p0 : GEMM_KC;
                const bool first = p0 == 0, last = p0 + kc == d->k;
                if (d->bpk) bp = (float *)d->bpk + p0 * d->nstrips * nr + cs * kc * nr; /* the same strips, packed before */
                else pack_b(d->kern, d->tb, d->b, d->ldb, p0, kc, j0, nc, 0, cs1 - cs, bp);
                for (int64_t rb = r0; rb < r1; rb += GEMM_MC_TILES) {
                    const int64_t rb1 = rb + GEMM_MC_TILES < r1 ? rb + GEMM_MC_TILES : r1;
                    const int64_t i0 = rb * mr, i1 = rb1 * mr < d->m ? rb1 * mr : d->m;
                    /* in place: only a last, part strip is packed (zero padded), at ap */
                    const int64_t i_part = d->a_in_place ? i0 + (i1 - i0) / mr * mr : i0;
                    if (d->runs_in_place) runs_table(d->ar, i0, i1, p0, kc, rtab);
                    else if (d->ar) pack_a_runs(d->kern, d->ar, i0, i1 - i0, p0, kc, ap);
                    else if (i_part < i1) pack_a(d->kern, d->ta, d->a, d->lda, i_part, i1 - i_part, p0, kc, ap);
                    for (int64_t js = 0; js < nc; js += nr) {
                        const int64_t w = nc - js < nr ? nc - js : nr;
                        const float *bt = bp + (js / nr) * kc * nr;
                        for (int64_t is = i0; is < i1; is += mr) {
                            const int64_t h = i1 - is < mr ? i1 - is : mr;
                            const bool ua = is < i_part; /* a full strip read in place */
                            const float *at = ap + (is - i_part) * kc, *arow = !ua ? NULL : d->ta ? d->a + p0 * d->lda + is : d->a + is * d->lda + p0;
                            float *ct = d->c + is * d->ldc + j0 + js;
                            const bool fill = first && d->bias;
                            const float *const(*rt)[6] = d->runs_in_place ? rtab[(is - i0) / mr] : NULL;
                            const int64_t roff = d->runs_in_place ? p0 % d->ar->run_len : 0;
                            if (h == mr && w == nr) {
                                if (fill)
                                    for (int64_t i = 0; i < mr; i++) copy_row(ct + i * d->ldc, d->bias + j0 + js, nr);
                                if (rt) d->kern->kernel_ur(kc, rt, roff, d->ar->run_len, bt, ct, d->ldc, d->alpha, d->beta, first);
                                else if (ua) (d->ta ? d->kern->kernel_uat : d->kern->kernel_ua)(kc, arow, d->lda, bt, ct, d->ldc,
                                                                                         d->alpha, d->beta, first);
                                else d->kern->kernel(kc, at, bt, ct, d->ldc, d->alpha, d->beta, first);
                                if (last && tile_ep) tile_ep->fn(d->ep->ctx, ct, d->ldc, is, mr, j0 + js, nr);
                            } else if (h == mr && d->kern->kernel_nw && !rt) {
                                /* right edge tile of a full strip: straight into C (masked; A
                                 * packed or in place, not as runs: those take the tile copy) */
                                if (fill)
                                    bias_fill(ct, d->ldc, d->bias + j0 + js, mr, w);
                                const float *a_nw = ua ? arow : at;
                                const int64_t si = !ua ? 1 : d->ta ? 1 : d->lda, sq = !ua ? mr : d->ta ? d->lda : 1;
                                d->kern->kernel_nw(kc, a_nw, si, sq, bt, ct, d->ldc, d->alpha, d->beta, first, (int)w);
                                if (last && tile_ep) tile_ep->fn(d->ep->ctx, ct, d->ldc, is, h, j0 + js, w);
                            } else {
                                /* edge tile: the same kernel on a full tile copy, so
                                 * edge elements get the same operations as inner ones */
                                if (fill) bias_fill(tile, nr, d->bias + j0 + js, h, w);
                                else if (!(first && d->beta == 0)) /* the kernel reads C */
                                    for (int64_t i = 0; i < h; i++)
                                        memcpy(tile + i * nr, ct + i * d->ldc, (size_t)w * sizeof(float));
                                if (rt) d->kern->kernel_ur(kc, rt, roff, d->ar->run_len, bt, tile, nr, d->alpha, d->beta, first);
                                else if (ua) (d->ta ? d->kern->kernel_uat : d->kern->kernel_ua)(kc, arow, d->lda, bt, tile, nr,
                                                                                         d->alpha, d->beta, first);
                                else d->kern->kernel(kc, at, bt, tile, nr, d->alpha, d->beta, first);
                                /* row copies (element by element this was 4% of MobileNet-v2, F = 24 and 144) */
                                for (int64_t i = 0; i < h; i++) memcpy(ct + i * d->ldc, tile + i * nr, (size_t)w * sizeof(float));
                                if (last && tile_ep) tile_ep->fn(d->ep->ctx, ct, d->ldc, is, h, j0 + js, w);
                            }
                        }
                    }
                    /* per_part: the MC x NC block just finished (in this core's L2), streamed */
                    if (last && d->ep && !tile_ep) d->ep->fn(d->ep->ctx, d->c + i0 * d->ldc + j0, d->ldc, i0, i1 - i0, j0, nc);
                }
            }
        }
    }
}

/* The grid tm x tn <= threads whose largest part costs least, counted per
 * K block in micro-kernel tiles: rows x cols tiles, plus the packing it does
 * itself, measured on Zen 4 at about 1.2 tiles per A strip (once per NC
 * block of its columns) and 2 tiles per B strip. Rows split first when the
 * costs tie (each part then packs only its own A rows); fewer parts than
 * threads when the product has too few strips. */
static void choose_grid(int threads, int64_t mstrips, int64_t nstrips, int nr, int *tm, int *tn)
{
    const int64_t nc_strips = GEMM_NC / nr;
    double best = -1;
    *tm = 1;
    *tn = 1;
    for (int r = threads; r >= 1; r--)
        for (int q = 1; r * q <= threads; q++) {
            if (r > mstrips || q > nstrips) continue;
            const int64_t rows = (mstrips + r - 1) / r, cols = (nstrips + q - 1) / q;
            const double cost = (double)rows * (double)cols +
                                1.2 * (double)rows * (double)((cols + nc_strips - 1) / nc_strips) + 2.0 * (double)cols;
            if (best < 0 || cost < best) {
                best = cost;
                *tm = r;
                *tn = q;
            }
        }
}

static void gemm_unpacked(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float s = 0;
            for (int64_t p = 0; p < k; p++) s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = (beta == 0 ? 0 : beta * c[i * ldc + j]) + alpha * s;
        }
}

/* gemm_unpacked with op(B)[p][j] read from its packed strips */
static void sgemm_prepacked_unpacked(const tc_sgemm_kernel_info *kern, bool ta, int64_t m, int64_t n, int64_t k,
                                     float alpha, const float *a, int64_t lda, const float *bpk, float beta, float *c,
                                     int64_t ldc)
{
    const int nr = kern->nr;
    const int64_t nstrips = (n + nr - 1) / nr;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float s = 0;
            for (int64_t p = 0; p < k; p++) {
                const int64_t p0 = p / GEMM_KC * GEMM_KC, kc = k - p0 < GEMM_KC ? k - p0 : GEMM_KC;
                const float bv = bpk[p0 * nstrips * nr + (j / nr) * kc * nr + (p - p0) * nr + j % nr];
                s += (ta ? a[p * lda + i] : a[i * lda + p]) * bv;
            }
            c[i * ldc + j] = (beta == 0 ? 0 : beta * c[i * ldc + j]) + alpha * s;
        }
}

/* tc_sgemm_packed, with op(B) read from bpk (packed by tc_sgemm_pack_b)
 * when bpk is not NULL: the parts then pack only A; with op(A) from the
 * runs ar when that is not NULL (then false, with nothing done, when the
 * pack memory is missing; else always true). */
static bool sgemm_drive(const tc_sgemm_kernel_info *kern, int threads, bool trans_a, bool trans_b, int64_t m,
                        int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                        const float *bpk, const float *bias, const tc_gemm_a_runs *ar, float beta, float *c,
                        int64_t ldc, const tc_sgemm_tile_ep *ep)
{
    if (m <= 0 || n <= 0) return true;
    if (bias) { /* C = bias row + ..., the bits of beta = 1 on a C that holds the bias */
        beta = 1;
        if (k <= 0) {
            bias_fill(c, ldc, bias, m, n);
            if (ep) ep->fn(ep->ctx, c, ldc, 0, m, 0, n);
            return true;
        }
    }
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        if (ep) ep->fn(ep->ctx, c, ldc, 0, m, 0, n);
        return true;
    }
    const int mr = kern->mr, nr = kern->nr;
    const int64_t mstrips = (m + mr - 1) / mr, nstrips = (n + nr - 1) / nr;
    if (threads < 1 || 2.0 * (double)m * (double)n * (double)k < GEMM_PARALLEL_FLOPS) threads = 1;
    int tm, tn;
    choose_grid(threads, mstrips, nstrips, nr, &tm, &tn);
    const bool few = !bpk && tc_sgemm_few_rows(kern, m, n);
    if (few) tm = 1, tn = threads < nstrips ? threads : (int)nstrips; /* columns only: no B block read twice */
    const int parts = tm * tn;
    /* buffers sized by the call (the blocking itself does not change) */
    const int64_t kc_use = k < GEMM_KC ? k : GEMM_KC;
    const int64_t rows_part = (mstrips + tm - 1) / tm, cols_part = (nstrips + tn - 1) / tn;
    const int64_t mc_use = (rows_part < GEMM_MC_TILES ? rows_part : GEMM_MC_TILES) * mr;
    const int64_t nc_use = (cols_part < GEMM_NC / nr ? cols_part : GEMM_NC / nr) * nr;
    int64_t b_floats = bpk ? 0 : (kc_use * nc_use + 15) / 16 * 16, a_floats = (kc_use * mc_use + 15) / 16 * 16 + 16; /* + slack for pack_a6 */
    if (few) b_floats = (kc_use * nr + 15) / 16 * 16, a_floats = (kc_use * mstrips * mr + 15) / 16 * 16 + 16;
    float *buf = thread_buffer((size_t)(parts * (b_floats + a_floats)));
    if (!buf && ar) return false; /* the caller has the matrix built and multiplied another way */
    if (!buf) { /* no memory for the panels: unpacked, still one thread per element */
        if (bias) bias_fill(c, ldc, bias, m, n);
        if (bpk) sgemm_prepacked_unpacked(kern, trans_a, m, n, k, alpha, a, lda, bpk, beta, c, ldc); /* b may be gone */
        else gemm_unpacked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        if (ep) ep->fn(ep->ctx, c, ldc, 0, m, 0, n);
        return true;
    }
    gemm_drv d = {kern, trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c,
                  tm, tn, mstrips, nstrips, buf, b_floats, a_floats, bpk, bias, ar,
                  a_in_place(kern, trans_a, ar, nstrips), !few && runs_in_place(kern, ar, nstrips), few, ep};
    if (parts == 1) run_parts(&d, 0, 1);
    else tc_parallel_for(parts, 1, run_parts, &d);
    return true;
}

void tc_sgemm_packed(const tc_sgemm_kernel_info *kern, int threads, bool trans_a, bool trans_b, int64_t m,
                     int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc)
{
    sgemm_drive(kern, threads, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, NULL, NULL, NULL, beta, c, ldc, NULL);
}

void tc_sgemm_packed_bias(const tc_sgemm_kernel_info *kern, int threads, bool trans_a, bool trans_b, int64_t m,
                          int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                          const float *bias, float beta, float *c, int64_t ldc)
{
    sgemm_drive(kern, threads, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, NULL, bias, NULL, beta, c, ldc, NULL);
}

/* Layout: K block p0 (steps of GEMM_KC from 0, kc deep) holds all NR strips
 * of the n columns, strip s at p0 * nstrips * nr + s * kc * nr, each strip
 * exactly what pack_b writes for it inside a driver block (zero padded
 * last strip). Any part's NC block of strips cs.. is then the contiguous
 * run at cs * kc * nr of its K block, so run_parts reads the same values
 * whatever the grid. */
int64_t tc_sgemm_packed_b_floats(const tc_sgemm_kernel_info *kern, int64_t k, int64_t n)
{
    const int64_t nstrips = (n + kern->nr - 1) / kern->nr;
    return k > 0 && n > 0 ? k * nstrips * kern->nr : 0;
}

/* Packing all of op(B) over the pool: a convolution's kernel is packed on
 * every training step (W forward, W^T for the input gradient), and on one
 * thread that copy was the serial part of the small-map layers (res5's
 * 3x3 x 512 x 512, 2.4M values: 0.75 ms against 0.75 ms of GEMM on each of
 * two threads). Each unit is a run of strips inside one K block; the values
 * are copies, so however the units are shared out the panel is the same. */
#define PACK_B_UNIT_STRIPS 2
#define PACK_B_PARALLEL_FLOATS (64 * 1024)

typedef struct {
    const tc_sgemm_kernel_info *kern;
    bool tb;
    int64_t k, n, ldb, nstrips, units_per_block;
    const float *b;
    float *dst;
} pack_b_job;

static void pack_b_units(void *ctx, int64_t lo, int64_t hi)
{
    const pack_b_job *j = ctx;
    for (int64_t u = lo; u < hi; u++) {
        const int64_t p0 = u / j->units_per_block * GEMM_KC, kc = j->k - p0 < GEMM_KC ? j->k - p0 : GEMM_KC;
        const int64_t s0 = u % j->units_per_block * PACK_B_UNIT_STRIPS;
        const int64_t s1 = s0 + PACK_B_UNIT_STRIPS < j->nstrips ? s0 + PACK_B_UNIT_STRIPS : j->nstrips;
        pack_b(j->kern, j->tb, j->b, j->ldb, p0, kc, 0, j->n, s0, s1, j->dst + p0 * j->nstrips * j->kern->nr);
    }
}

void tc_sgemm_pack_b(const tc_sgemm_kernel_info *kern, bool trans_b, int64_t k, int64_t n, const float *b, int64_t ldb,
                     float *dst)
{
    if (k <= 0 || n <= 0) return;
    const int64_t nstrips = (n + kern->nr - 1) / kern->nr, per = (nstrips + PACK_B_UNIT_STRIPS - 1) / PACK_B_UNIT_STRIPS;
    pack_b_job j = {kern, trans_b, k, n, ldb, nstrips, per, b, dst};
    const int64_t units = (k + GEMM_KC - 1) / GEMM_KC * per;
    if (k * n < PACK_B_PARALLEL_FLOATS) pack_b_units(&j, 0, units);
    else tc_parallel_for(units, 1, pack_b_units, &j);
}

void tc_sgemm_packed_pb(const tc_sgemm_kernel_info *kern, int threads, bool trans_a, int64_t m, int64_t n, int64_t k,
                        float alpha, const float *a, int64_t lda, const float *bpk, const float *bias, float beta,
                        float *c, int64_t ldc)
{
    sgemm_drive(kern, threads, trans_a, false, m, n, k, alpha, a, lda, NULL, 0, bpk, bias, NULL, beta, c, ldc, NULL);
}

void tc_sgemm_packed_pb_ep(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                           const float *a, int64_t lda, const float *bpk, const float *bias, float *c, int64_t ldc,
                           const tc_sgemm_tile_ep *ep)
{
    sgemm_drive(kern, threads, false, false, m, n, k, 1, a, lda, NULL, 0, bpk, bias, NULL, 0, c, ldc, ep);
}

bool tc_sgemm_packed_runs(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                          const tc_gemm_a_runs *ar, const float *bpk, const float *bias, float *c, int64_t ldc)
{
    if (!kern->pack_a6r || kern->mr != 6 || !bpk) return false;
    return sgemm_drive(kern, threads, false, false, m, n, k, 1, NULL, 0, NULL, 0, bpk, bias, ar, 0, c, ldc, NULL);
}

void tc_sgemm_packed_bias_ep(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                             const float *a, int64_t lda, const float *b, int64_t ldb, const float *bias, float *c,
                             int64_t ldc, const tc_sgemm_tile_ep *ep)
{
    sgemm_drive(kern, threads, false, false, m, n, k, 1, a, lda, b, ldb, NULL, bias, NULL, 0, c, ldc, ep);
}

bool tc_sgemm_packed_runs_ep(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                             const tc_gemm_a_runs *ar, const float *bpk, const float *b, int64_t ldb,
                             const float *bias, float *c, int64_t ldc, const tc_sgemm_tile_ep *ep)
{
    if (!kern->pack_a6r || kern->mr != 6 || (!bpk && !b)) return false;
    return sgemm_drive(kern, threads, false, false, m, n, k, 1, NULL, 0, bpk ? NULL : b, ldb, bpk, bias, ar, 0, c,
                       ldc, ep);
}

bool tc_sgemm_packed_runs_b(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                            const tc_gemm_a_runs *ar, const float *b, int64_t ldb, const float *bias, float *c,
                            int64_t ldc)
{
    if (!kern->pack_a6r || kern->mr != 6 || !b) return false;
    return sgemm_drive(kern, threads, false, false, m, n, k, 1, NULL, 0, b, ldb, NULL, bias, ar, 0, c, ldc, NULL);
}

const tc_sgemm_kernel_info *tc_sgemm_kernel_for(int isa_level)
{
    static const tc_sgemm_kernel_info kernels[] = {
        {.mr = TC_SGEMM_GENERIC_MR, .nr = TC_SGEMM_GENERIC_NR, .kernel = tc_sgemm_kernel_generic},
        {.mr = TC_SGEMM_AVX2_MR, .nr = TC_SGEMM_AVX2_NR, .kernel = tc_sgemm_kernel_avx2,
         .pack_a6 = tc_sgemm_pack_a6_avx2, .pack_bt = tc_sgemm_pack_bt_avx2, .pack_at6 = tc_sgemm_pack_at6_avx2,
         .pack_a6r = tc_sgemm_pack_a6r_avx2, .kernel_ua = tc_sgemm_kernel_avx2_ua,
         .kernel_uat = tc_sgemm_kernel_avx2_uat, .kernel_ur = tc_sgemm_kernel_avx2_ur},
        {.mr = TC_SGEMM_AVX512_MR, .nr = TC_SGEMM_AVX512_NR, .kernel = tc_sgemm_kernel_avx512,
         .pack_a6 = tc_sgemm_pack_a6_avx2, .pack_bt = tc_sgemm_pack_bt_avx2, .pack_at6 = tc_sgemm_pack_at6_avx2,
         .pack_a6r = tc_sgemm_pack_a6r_avx2, .kernel_ua = tc_sgemm_kernel_avx512_ua,
         .kernel_uat = tc_sgemm_kernel_avx512_uat, .kernel_ub = tc_sgemm_kernel_avx512_ub,
         .kernel_nw = tc_sgemm_kernel_avx512_nw, .kernel_ur = tc_sgemm_kernel_avx512_ur,
         .kernel_rows7 = tc_sgemm_kernel_avx512_rows7},
    };
    if (isa_level < TC_ISA_GENERIC || isa_level > TC_ISA_AVX512) return &kernels[0];
    return &kernels[isa_level];
}

void tc_sgemm_kernel_generic(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                             float alpha, float beta, bool first)
{
    enum { MR = TC_SGEMM_GENERIC_MR, NR = TC_SGEMM_GENERIC_NR };
    float acc[MR][NR] = {{0}};
    for (int64_t p = 0; p < kc; p++)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[p * MR + i] * b[p * NR + j];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) {
            float old = first ? (beta == 0 ? 0 : beta * c[i * ldc + j]) : c[i * ldc + j];
            c[i * ldc + j] = old + alpha * acc[i][j];
        }
}
