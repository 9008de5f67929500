/* Direct thin convolutions (float, AVX-512 / AVX2): the driver of the
 * kernels of conv_thin_direct.h, which build no patch matrix.
 *
 * The input is copied once per call into a zero-padded buffer (as small as
 * the input: the padding is the only growth), so the kernels never test a
 * border:
 *   forward: each output row (n, od, oh): tiles of pixels x 32 channels, the
 *            K taps' inputs broadcast against the weight vectors, then bias
 *            and the fused epilogue while the row is in cache; rows in
 *            parallel.
 *   dW, db:  fixed blocks of output rows (shapes only: ~256 KB of dY each);
 *            per block, groups of taps x 32 channels accumulated over every
 *            pixel of the block, the blocks' partial sums added in block
 *            order: bit-identical for any thread count.
 *   dX:      each input row gathers sum_f dY * W over the taps whose
 *            output exists (vectors over the output channels, added across
 *            at the end). Strided, phase by phase: input row ih only gets
 *            the kernel rows kh with ih + pb - kh*dl a multiple of s, and
 *            the input columns iw = q + m*s of one column phase q only the
 *            kernel columns of that phase, which read the consecutive output
 *            columns m + const; each phase is a stride-1 gather with its own
 *            sub-kernel, written straight into dX (no dP = dY W^T tile and
 *            col2im scatter, no FMA on a tap that misses). */
#include "conv.h"
#include "conv_thin.h"
#include "conv_thin_direct.h"

#ifndef TC_DOUBLE

const thin_direct_kernels *tc_thin_direct_pick(void)
{
    switch (tc_isa()) {
    case TC_ISA_AVX512: return &tc_thin_direct_avx512;
    case TC_ISA_AVX2: return &tc_thin_direct_avx2;
    default: return NULL;
    }
}

/* the padded input: extents that hold every tap of every output, and the
 * strides of its rows, planes and images (floats) */
typedef struct {
    int64_t Dp, Hp, Wp;
    int64_t row, plane, img;
    const float *x;
} padded;

static int64_t extent(int64_t out, int64_t s, int64_t k, int64_t dl) { return (out - 1) * s + (k - 1) * dl + 1; }

typedef struct {
    const conv_plan *p;
    const thin_direct_kernels *kern;
    padded pad;
    float *pad_buf;            /* the padded copy being written (NULL: the input is read in place) */
    const int64_t *toff;       /* forward: tap offsets in the padded image */
    const float *bias, *dy;
    float *y, *dx;
    const float **xr;          /* dW: each output row's padded input row */
    int64_t rows_blk, nblocks; /* dW: output rows per block (by image), blocks */
    bool row_blocks;           /* dW: blocks of output rows, block b = rows [b*rows/nblocks, (b+1)*rows/nblocks) */
    float *dw_parts, *db_parts, *scratch;
    const float **ptrs;        /* dX: per thread 2 * KD * KH row pointers */
    const int64_t *ph_tw, *ph_to; /* dX: per column phase q, KW slots: its taps' weight offsets and output columns */
    const int *ph_nt;          /* dX: taps of each column phase */
    const float *zeros;        /* dX: F zeros, the dY of an output column that does not exist */
    bool fuse_dx;              /* dX computed per dW block (blocks of whole images) */
} direct_job;

/* padded rows (n, pd, ph) [lo, hi): the input row between zeros, or zeros.
 * By rows, not images: a batch-1 stem (ResNet's 224x224, pads of 3) still
 * splits its copy over the threads. */
static void pad_rows(void *ctx, int64_t lo, int64_t hi)
{
    const direct_job *j = ctx;
    const conv_plan *p = j->p;
    const padded *q = &j->pad;
    const int64_t C = p->C;
    /* columns [w0, w1) of a padded row hold input columns [w0 - pb2, w1 - pb2) */
    const int64_t w0 = p->pb[2] < q->Wp ? p->pb[2] : q->Wp, w1 = p->W + p->pb[2] < q->Wp ? p->W + p->pb[2] : q->Wp;
    for (int64_t r = lo; r < hi; r++) {
        const int64_t ph = r % q->Hp, pd = r / q->Hp % q->Dp, n = r / q->Hp / q->Dp;
        const int64_t id = pd - p->pb[0], ih = ph - p->pb[1];
        float *dst = j->pad_buf + n * q->img + pd * q->plane + ph * q->row;
        if (id < 0 || id >= p->D || ih < 0 || ih >= p->H || w1 <= w0) {
            memset(dst, 0, sizeof(float) * (size_t)q->row);
            continue;
        }
        memset(dst, 0, sizeof(float) * (size_t)(w0 * C));
        memcpy(dst + w0 * C, p->x + ((n * p->D + id) * p->H + ih) * p->W * C, sizeof(float) * (size_t)((w1 - w0) * C));
        memset(dst + w1 * C, 0, sizeof(float) * (size_t)((q->Wp - w1) * C));
    }
}

static bool make_padded(direct_job *j)
{
    const conv_plan *p = j->p;
    padded *q = &j->pad;
    q->Dp = extent(p->OD, p->s[0], p->k[0], p->dl[0]);
    q->Hp = extent(p->OH, p->s[1], p->k[1], p->dl[1]);
    q->Wp = extent(p->OW, p->s[2], p->k[2], p->dl[2]);
    /* no padding before and every tap inside the input (VALID: InceptionV3's
     * 299x299 stem): the kernels read the input in place with its own strides;
     * the copy cost a third of that layer's forward */
    if (p->pb[0] == 0 && p->pb[1] == 0 && p->pb[2] == 0 && q->Dp <= p->D && q->Hp <= p->H && q->Wp <= p->W) {
        q->row = p->W * p->C, q->plane = p->H * q->row, q->img = p->D * q->plane;
        q->x = p->x;
        return true;
    }
    q->row = q->Wp * p->C, q->plane = q->Hp * q->row, q->img = q->Dp * q->plane;
    j->pad_buf = tc_arena_alloc(sizeof(float) * (size_t)(p->N * q->img));
    if (!j->pad_buf) return false;
    q->x = j->pad_buf;
    tc_parallel_for(p->N * q->Dp * q->Hp, 16 * 1024 / q->row + 1, pad_rows, j);
    return true;
}

/* output row i = (n, od, oh) -> its first padded input row */
static const float *row_input(const direct_job *j, int64_t i)
{
    const conv_plan *p = j->p;
    const int64_t oh = i % p->OH, od = i / p->OH % p->OD, n = i / p->OH / p->OD;
    return j->pad.x + n * j->pad.img + od * p->s[0] * j->pad.plane + oh * p->s[1] * j->pad.row;
}

static void forward_rows(void *ctx, int64_t lo, int64_t hi)
{
    const direct_job *j = ctx;
    const conv_plan *p = j->p;
    const int64_t OW = p->OW, F = p->F;
    for (int64_t i = lo; i < hi; i++) {
        float *y = j->y + i * OW * F;
        j->kern->fwd_row(row_input(j, i), j->toff, p->K, p->s[2] * p->C, p->w, F, j->bias, OW, y);
        if (tc_conv_has_epilogue(p)) tc_conv_epilogue(p, y, i * OW, (i + 1) * OW);
    }
}

bool tc_conv_thin_direct_forward(const conv_plan *p, const thin_direct_kernels *kern, const float *bias, float *y)
{
    direct_job j = {.p = p, .kern = kern, .y = y};
    if (!make_padded(&j)) return false;
    int64_t *toff = tc_arena_alloc(sizeof(int64_t) * (size_t)p->K);
    float *zeros = bias ? NULL : tc_arena_alloc(sizeof(float) * (size_t)p->F);
    if (!toff || (!bias && !zeros)) return false;
    if (zeros) memset(zeros, 0, sizeof(float) * (size_t)p->F);
    const int64_t C = p->C, plane = j.pad.plane, prow = j.pad.row;
    int64_t t = 0;
    for (int64_t kd = 0; kd < p->k[0]; kd++)
        for (int64_t kh = 0; kh < p->k[1]; kh++)
            for (int64_t kw = 0; kw < p->k[2]; kw++)
                for (int64_t c = 0; c < C; c++)
                    toff[t++] = kd * p->dl[0] * plane + kh * p->dl[1] * prow + kw * p->dl[2] * C + c;
    j.toff = toff;
    j.bias = bias ? bias : zeros;
    /* ~64K multiply-adds per chunk at least: a 1-image batch still splits its rows */
    int64_t grain = 65536 / (p->OW * p->F * p->K) + 1;
    tc_parallel_for(p->N * p->OD * p->OH, grain, forward_rows, &j);
    return true;
}

static void dx_rows(void *ctx, int64_t lo, int64_t hi);

/* kernel-gradient blocks [lo, hi) (and, fused, the input gradient of their images) */
static void dw_blocks(void *ctx, int64_t lo, int64_t hi)
{
    const direct_job *j = ctx;
    const conv_plan *p = j->p;
    const int64_t C = p->C, F = p->F, OW = p->OW, KH = p->k[1], KW = p->k[2];
    const int64_t rows = p->N * p->OD * p->OH, ps = p->s[2] * C, plane = j->pad.plane;
    const int64_t rowstep = p->dl[1] * j->pad.row, step = p->dl[2] * C; /* step: padded columns between kw */
    const int64_t jx = ((KW - 1) * p->dl[2] + 1) * C;                       /* padded columns one kernel row spans */
    const int T = j->kern->dw_taps;
    /* a kernel row's jx columns in nch balanced chunks of at most T, or R rows of them together */
    const int64_t R = jx * 2 <= T ? 2 : 1, nch = (jx + T - 1) / T;
    float *out = j->scratch + tc_thread_id() * T * F;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t i0 = j->row_blocks ? b * rows / j->nblocks : b * j->rows_blk,
                      i1 = j->row_blocks ? (b + 1) * rows / j->nblocks : i0 + j->rows_blk < rows ? i0 + j->rows_blk : rows;
        const float *dy = j->dy + i0 * OW * F;
        /* the block's whole images: their input gradient first, reading dy from memory
         * once; the tap groups below find it in L2 */
        if (j->fuse_dx) dx_rows(ctx, i0 / (p->OD * p->OH) * p->D * p->H, i1 / (p->OD * p->OH) * p->D * p->H);
        float *db = j->db_parts ? j->db_parts + b * F : NULL;
        if (!j->dw_parts) {
            j->kern->col_sum(dy, (i1 - i0) * OW, F, db);
            continue;
        }
        float *dw = j->dw_parts + b * p->K * F;
        for (int64_t kd = 0; kd < p->k[0]; kd++)
            for (int64_t kh0 = 0; kh0 < KH; kh0 += R) {
                const int rr = (int)(kh0 + R <= KH ? R : KH - kh0);
                int64_t o0 = 0;
                for (int64_t ch = 0; ch < nch; ch++) {
                    const int g = (int)((jx - o0 + nch - ch - 1) / (nch - ch));
                    const int64_t goff = kd * p->dl[0] * plane + kh0 * rowstep + o0;
                    /* the first group sums db as well, while dy comes in from memory */
                    j->kern->dw_group(j->xr + i0, dy, i1 - i0, OW, ps, F, goff, rowstep, rr, g, out, db);
                    db = NULL;
                    for (int r = 0; r < rr; r++)
                        for (int gi = 0; gi < g; gi++) {
                            const int64_t o = o0 + gi, kw = o / step, c = o % step;
                            if (c >= C) continue; /* a column between dilated taps */
                            const int64_t tap = ((kd * KH + kh0 + r) * KW + kw) * C + c;
                            memcpy(dw + tap * F, out + (r * g + gi) * F, sizeof(float) * (size_t)F);
                        }
                    o0 += g;
                }
            }
    }
}

/* the output index of input index i through tap k (o*s = i + pb - k*dl), or -1 when there is none */
static int64_t tap_out(int64_t i, int64_t pb, int64_t k, int64_t dl, int64_t s, int64_t O)
{
    const int64_t v = i + pb - k * dl;
    return v < 0 || v % s || v / s >= O ? -1 : v / s;
}

/* input-gradient rows (n, id, ih) [lo, hi), each column phase in turn */
static void dx_rows(void *ctx, int64_t lo, int64_t hi)
{
    const direct_job *j = ctx;
    const conv_plan *p = j->p;
    const int64_t C = p->C, F = p->F, KD = p->k[0], KH = p->k[1], KW = p->k[2], sw = p->s[2];
    const float **dyr = j->ptrs + tc_thread_id() * 2 * KD * KH, **wr = dyr + KD * KH;
    for (int64_t i = lo; i < hi; i++) {
        const int64_t ih = i % p->H, id = i / p->H % p->D, n = i / p->H / p->D;
        int nr = 0;
        for (int64_t kd = 0; kd < KD; kd++) {
            const int64_t od = tap_out(id, p->pb[0], kd, p->dl[0], p->s[0], p->OD);
            if (od < 0) continue;
            for (int64_t kh = 0; kh < KH; kh++) {
                const int64_t oh = tap_out(ih, p->pb[1], kh, p->dl[1], p->s[1], p->OH);
                if (oh < 0) continue;
                dyr[nr] = j->dy + ((n * p->OD + od) * p->OH + oh) * p->OW * F;
                wr[nr++] = p->w + (kd * KH + kh) * KW * C * F;
            }
        }
        for (int64_t q = 0; nr && q < sw && q < p->W; q++)
            if (j->ph_nt[q])
                j->kern->dx_row(dyr, wr, nr, (p->W - q + sw - 1) / sw, p->OW, j->ph_tw + q * KW, j->ph_to + q * KW,
                                j->ph_nt[q], sw * C, C, F, j->zeros, j->dx + i * p->W * C + q * C);
    }
}

/* the column phases' tap tables (direct_job.ph_*): kernel columns kw in order */
static bool make_phases(direct_job *j)
{
    const conv_plan *p = j->p;
    const int64_t KW = p->k[2], sw = p->s[2], pw = p->pb[2], dlw = p->dl[2];
    int64_t *tw = tc_arena_alloc(sizeof(int64_t) * (size_t)(2 * sw * KW)), *to = tw ? tw + sw * KW : NULL;
    int *nt = tc_arena_alloc(sizeof(int) * (size_t)sw);
    if (!tw || !nt) return false;
    for (int64_t q = 0; q < sw; q++) {
        nt[q] = 0;
        for (int64_t kw = 0; kw < KW; kw++) {
            const int64_t v = q + pw - kw * dlw; /* output column of phase pixel 0, times s */
            if (((v % sw) + sw) % sw) continue;
            tw[q * KW + nt[q]] = kw * p->C * p->F, to[q * KW + nt[q]] = v / sw; /* exact: v is a multiple of s */
            nt[q]++;
        }
    }
    j->ph_tw = tw, j->ph_to = to, j->ph_nt = nt;
    return true;
}

bool tc_conv_thin_direct_backward(const conv_plan *p, const thin_direct_kernels *kern, const float *dy, float *dx,
                                  float *dw, float *db)
{
    const int64_t F = p->F, K = p->K, rows = p->N * p->OD * p->OH;
    direct_job j = {.p = p, .kern = kern, .dy = dy, .dx = dx};
    /* dW blocks of ~64K dY values (L2-resident while the tap groups re-read them):
     * whole images where an image's dY is at most 128K values (then dX can run per
     * block on the same cached dY), else rows. Shapes alone decide. */
    const int64_t per_img = p->rows_img * F, img_rows = p->OD * p->OH;
    const bool by_image = per_img <= 128 * 1024 && p->N >= 2;
    j.rows_blk = by_image ? (per_img >= 64 * 1024 ? 1 : 64 * 1024 / per_img) * img_rows : 64 * 1024 / (p->OW * F) + 1;
    j.nblocks = (rows + j.rows_blk - 1) / j.rows_blk;
    /* blocks of rows (a batch-1 stem: InceptionV3's 149 rows made 11 blocks of 14,
     * 6 against 5 on two threads): an even count of balanced blocks, still a
     * rule of the shapes alone */
    if (!by_image) {
        j.row_blocks = true;
        if (j.nblocks > 1 && j.nblocks % 2) j.nblocks++;
        if (j.nblocks > rows) j.nblocks = rows;
    }
    j.fuse_dx = dx && by_image && (dw || db);
    if (dx) {
        j.ptrs = tc_arena_alloc(sizeof(float *) * (size_t)(tc_num_threads() * 2 * p->k[0] * p->k[1]));
        float *zeros = tc_arena_alloc(sizeof(float) * (size_t)F);
        if (!j.ptrs || !zeros) return false;
        memset(zeros, 0, sizeof(float) * (size_t)F);
        j.zeros = zeros;
        if (!make_phases(&j)) return false;
        /* ~64K multiply-adds per chunk: a row's taps are 1/(s_h s_w) of the kernel's */
        const int64_t row_madds = p->W * p->C * p->K * F / (p->s[1] * p->s[2]) + 1;
        if (!j.fuse_dx) tc_parallel_for(p->N * p->D * p->H, 64 * 1024 / row_madds + 1, dx_rows, &j);
    }
    if (!dw && !db) return true;
    if (db && !(j.db_parts = tc_arena_alloc(sizeof(float) * (size_t)(j.nblocks * F)))) return false;
    if (dw) {
        if (!make_padded(&j)) return false;
        j.xr = tc_arena_alloc(sizeof(float *) * (size_t)rows);
        j.dw_parts = tc_arena_alloc(sizeof(float) * (size_t)(j.nblocks * K * F));
        j.scratch = tc_arena_alloc(sizeof(float) * (size_t)(tc_num_threads() * kern->dw_taps * F));
        if (!j.xr || !j.dw_parts || !j.scratch) return false;
        for (int64_t i = 0; i < rows; i++) j.xr[i] = row_input(&j, i);
    }
    tc_parallel_for(j.nblocks, 1, dw_blocks, &j);
    for (int64_t b = 0; b < j.nblocks; b++) { /* block order: the same sums for any thread count */
        if (dw) tc_accumulate(dw, j.dw_parts + b * K * F, K * F);
        if (db) tc_accumulate(db, j.db_parts + b * F, F);
    }
    return true;
}
#endif
