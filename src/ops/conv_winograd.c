/* Winograd F(4x4, 3x3) convolution: 2-D 3x3 kernels, stride 1, dilation 1,
 * one group; forward and input gradient (the kernel gradient stays on the
 * im2col path, conv_im2col.c). tc_conv_set_algorithm or TENSORCOOK_CONV
 * (read once) selects it: winograd for every convolution of its shape;
 * auto (the default) only for inference weights (tc_conv_weights, float
 * panels, no gradient: the imported ONNX models, tc_model_prepare_inference)
 * whose transformed kernel is kept, so training and plain tc_conv calls
 * keep the direct path's bits; direct never.
 *
 * Each 4x4 block of outputs reads a 6x6 block of inputs d and is
 * A^T [(G g G^T) .* (B^T d B)] A: 36 products per channel pair instead of
 * 144 (4x fewer multiplications), for an error about 10x the direct
 * convolution's (docs/perf.md, "Winograd F(4x4,3x3)"). Channels-last turns
 * the 36 element-wise products summed over C into 36 GEMMs:
 *   V[e] [tiles, C] = input transforms of a block of tiles,
 *   M[e] [tiles, F] = V[e] @ U[e],  U[e] [C, F] = kernel transform,
 *   outputs = output transforms of M (+ bias, then the fused epilogue).
 * U is transformed (in double) and packed once per call for our GEMM
 * (tc_gemm_prepare_b), or, for inference weights (tc_conv_weights), once
 * per model and kept with them (tc_conv_winograd_kernel_new); the GEMMs run on the calling thread
 * (tc_gemm_serial_b), the blocks of tiles spread over the pool.
 * The input gradient of a 3x3 stride-1 convolution is itself one: dY
 * correlated with the kernel flipped in space, C and F swapped, offset
 * pad_before - 2 (dY is zero outside its extent, which gives every
 * padding, asymmetric TF SAME included), accumulated into dX.
 * Blocks of tiles depend on the shape only, never on the thread count, and
 * each output is written by one block: bit-identical for any thread count. */
#include "conv_winograd.h"

#include <stdlib.h>
#include <string.h>

/* ---- selection ---------------------------------------------------------- */
static int algorithm = -1; /* -1: TENSORCOOK_CONV not read yet */
static int64_t winograd_runs; /* forward convolutions run by Winograd (atomic) */

static int known(int a) { return a == TC_CONV_WINOGRAD || a == TC_CONV_AUTO ? a : TC_CONV_DIRECT; }

tc_conv_algorithm tc_conv_get_algorithm(void)
{
    int a = __atomic_load_n(&algorithm, __ATOMIC_ACQUIRE);
    if (a >= 0) return (tc_conv_algorithm)a;
    const char *s = getenv("TENSORCOOK_CONV");
    a = !s || !*s || !strcmp(s, "auto") ? TC_CONV_AUTO : !strcmp(s, "winograd") ? TC_CONV_WINOGRAD : TC_CONV_DIRECT;
    __atomic_store_n(&algorithm, a, __ATOMIC_RELEASE);
    return (tc_conv_algorithm)a;
}

void tc_conv_set_algorithm(tc_conv_algorithm a) { __atomic_store_n(&algorithm, known((int)a), __ATOMIC_RELEASE); }

const char *tc_conv_algorithm_name(tc_conv_algorithm a)
{
    return a == TC_CONV_WINOGRAD ? "winograd" : a == TC_CONV_AUTO ? "auto" : "direct";
}

int64_t tc_conv_winograd_runs(void) { return __atomic_load_n(&winograd_runs, __ATOMIC_RELAXED); }

#define WINO_MIN_TILES 40
#define WINO_MIN_TILES_KEPT 8

bool tc_conv_winograd_shape_ok(const conv_plan *p)
{
    /* under 8 channels the transforms cost more than the products saved
     * (and the thin kernels of conv_thin.c take C <= 4) */
    return p->groups == 1 && p->D == 1 && p->k[0] == 1 && p->k[1] == 3 && p->k[2] == 3 && p->s[1] == 1 &&
           p->s[2] == 1 && p->dl[1] == 1 && p->dl[2] == 1 && p->C >= 8 && p->F >= 8 && !p->direct && !p->thin &&
           !p->depthwise && !p->patches;
}

/* Bench knob (bench/bench_wino_kept.c measures around the thresholds):
 * TENSORCOOK_WINO_MIN_TILES=N replaces both by N tiles, read once. */
static int64_t min_tiles_env(void)
{
    static int64_t v = -2; /* -2: not read; -1: unset */
    int64_t r = __atomic_load_n(&v, __ATOMIC_ACQUIRE);
    if (r != -2) return r;
    const char *s = getenv("TENSORCOOK_WINO_MIN_TILES");
    r = s && *s ? atoll(s) : -1;
    __atomic_store_n(&v, r, __ATOMIC_RELEASE);
    return r;
}

static const wino_transforms *pick(void);

/* the kept kernel, when it was made with the transforms now in use */
static const tc_gemm_b_panel *kept_panels(const conv_plan *p)
{
    /* without U (dropped after packing: tc_conv_winograd_kernel_new) a
     * one-row product, which reads U unpacked, must not occur: run() never
     * makes a block of one tile out of two or more */
    const bool one_tile = p->N * ((p->OH + 3) / 4) * ((p->OW + 3) / 4) < 2;
    return p->wino && p->wino->tf == pick() && p->wino->C == p->C && p->wino->F == p->F && (p->wino->U || !one_tile)
               ? p->wino->pk
               : NULL;
}

bool tc_conv_winograd_enough(const conv_plan *p, bool kept)
{
    const int64_t tiles = p->N * ((p->OH + 3) / 4) * ((p->OW + 3) / 4), env = min_tiles_env();
    if (env >= 0) return tiles >= env;
    /* the kernel transform and its packing (36 C x F panels, once per
     * call) cost about as much as the products of ~40 tiles save: on fewer
     * (VGG's conv5 at 14x14 has 16, ResNet's res5 at 7x7 4) Winograd was
     * 1.7-4.7x slower than the direct path (bench_conv_zoo BENCH_CONV=both).
     * With the kernel kept (inference weights) only the tile transforms
     * remain, and the count of outputs decides, not of tiles: a 7x7 map
     * fills only 49 of its 4 tiles' 64 outputs. bench_wino_kept (CPU ms, 1
     * and 2 threads, docs/perf.md "winodef"): 8 tiles of 7x7 maps (res5 at
     * batch 2, 98 outputs) lost 5-6% (2.66-2.80 direct vs 2.82-2.95 ms),
     * 8 full tiles of 8x8 maps (448->384 at batch 2, 128 outputs) won
     * 1.10-1.17x, 16 tiles of 14x14 (196) 1.23-1.34x, 4 tiles lost 14-23%.
     * So 128 outputs (8 full tiles) with a kept kernel. The kept kernel's 36
     * C F values read per call and the products' 36 C F per tile scale
     * alike: the channel counts do not move the threshold. */
    return kept ? p->N * p->OH * p->OW >= 16 * WINO_MIN_TILES_KEPT : tiles >= WINO_MIN_TILES;
}

bool tc_conv_winograd_use(const conv_plan *p)
{
    const tc_conv_algorithm a = tc_conv_get_algorithm();
    const bool kept = kept_panels(p) != NULL;
    /* auto: only with the kernel kept (inference weights, tc_conv_weights
     * made it: tc_conv_weights_winograd), never for a kernel being trained */
    if (a == TC_CONV_DIRECT || (a == TC_CONV_AUTO && !kept)) return false;
    return tc_conv_winograd_shape_ok(p) && tc_conv_winograd_enough(p, kept);
}

static const wino_transforms *pick(void)
{
    switch (tc_isa()) {
    case TC_ISA_AVX512: return &tc_wino_tf_avx512;
    case TC_ISA_AVX2: return &tc_wino_tf_avx2;
    default: return &tc_wino_tf_generic;
    }
}

/* ---- the kernel, transformed and packed once per call --------------------- */
typedef struct {
    const wino_transforms *tf;
    const tc_scalar *w;
    int64_t C, F;
    bool flip;
    int e0, e1;
    tc_scalar *U;
} kernel_job;

static void kernel_units(void *ctx, int64_t lo, int64_t hi)
{
    const kernel_job *j = ctx;
    j->tf->kernel_tf(j->w, j->C, j->F, j->flip, lo, hi, j->e0, j->e1, j->U);
}

/* The transform into U ((e1 - e0) C F values, [C][e1 - e0][F]) over the
 * pool: each U value is one thread's, so any split gives the same bits */
static void transform_kernel(const wino_transforms *tf, const tc_scalar *w, int64_t C, int64_t F, bool flip, int e0,
                             int e1, tc_scalar *U)
{
    kernel_job j = {tf, w, C, F, flip, e0, e1, U};
    tc_parallel_for(C, 1 + 4096 / F, kernel_units, &j);
}

/* the 36 panels of U: forward B = U[e] [C, F]; flipped (dX) B = U[e]^T
 * [F, C]; kept: in memory of their own (tc_conv_weights), else the arena's.
 * The panels read U unpacked on some paths (OpenBLAS, m == 1): U must
 * live as long as they do. */
static bool pack_kernel(const tc_scalar *Uv, int64_t C, int64_t F, bool flip, bool kept, tc_gemm_b_panel *U)
{
    for (int e = 0; e < 36; e++) {
        const tc_scalar *b = Uv + (int64_t)e * F; /* U[e] is [C, F] with rows 36 F apart */
        const bool tb = flip;
        const int64_t k = flip ? F : C, n = flip ? C : F;
        if (!(kept ? tc_gemm_prepare_b_kept(&U[e], tb, k, n, b, 36 * F) : tc_gemm_prepare_b(&U[e], tb, k, n, b, 36 * F)))
            return false;
    }
    return true;
}

static tc_gemm_b_panel *prepare_kernel(const wino_transforms *tf, const tc_scalar *w, int64_t C, int64_t F, bool flip)
{
    tc_scalar *Uv = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(36 * C * F));
    tc_gemm_b_panel *U = tc_arena_alloc(sizeof *U * 36);
    if (!Uv || !U) return NULL;
    transform_kernel(tf, w, C, F, flip, 0, 36, Uv);
    return pack_kernel(Uv, C, F, flip, false, U) ? U : NULL;
}

/* The kept panels made 6 elements at a time from a sixth of U: 1 when
 * every panel holds its own packed copy (our AVX2 / AVX-512 kernels; then
 * two-or-more-row products never read U, and the kept kernel is used only
 * under the ISA it was made for: kept_panels), 0 when one does not (the
 * panels are released: the caller keeps a whole U), -1 out of memory.
 * Packing copies values, so the panels are those of the whole U. Peak
 * memory: the panels and 6 C F values instead of 36 C F more (ResNet-50's
 * res5 kernel: 38 MB at load; kept, U cost 131 MB over the model's 13
 * stride-1 3x3 kernels) */
static int pack_in_sixths(tc_wino_kernel *k, const tc_scalar *w)
{
    const int64_t C = k->C, F = k->F;
    tc_scalar *Ug = malloc(sizeof(tc_scalar) * (size_t)(6 * C * F));
    if (!Ug) return tc_error(TC_ERR_MEMORY, "conv: out of memory for a Winograd kernel"), -1;
    int r = 1;
    for (int e0 = 0; e0 < 36 && r == 1; e0 += 6) {
        transform_kernel(k->tf, w, C, F, false, e0, e0 + 6, Ug);
        for (int e = e0; e < e0 + 6 && r == 1; e++)
            r = !tc_gemm_prepare_b_kept(&k->pk[e], false, C, F, Ug + (int64_t)(e - e0) * F, 6 * F) ? -1
                : k->pk[e].packed                                                                 ? 1
                                                                                                  : 0;
    }
    free(Ug);
    for (int e = 0; e < 36; e++) {
        if (r == 1) k->pk[e].b = NULL; /* Ug is gone; nothing reads it */
        else tc_gemm_b_panel_release(&k->pk[e]);
    }
    return r;
}

tc_wino_kernel *tc_conv_winograd_kernel_new(const tc_scalar *w, int64_t C, int64_t F)
{
    tc_wino_kernel *k = calloc(1, sizeof *k);
    if (!k) return tc_error(TC_ERR_MEMORY, "conv: out of memory for a Winograd kernel"), NULL;
    k->tf = pick(), k->C = C, k->F = F;
    const int sixths = pack_in_sixths(k, w);
    if (sixths == 1) return k;
    /* the generic path (OpenBLAS reads B unpacked): the whole U, kept */
    if (sixths == 0) k->U = malloc(sizeof(tc_scalar) * (size_t)(36 * C * F));
    if (!k->U) {
        free(k);
        return sixths ? NULL : (tc_error(TC_ERR_MEMORY, "conv: out of memory for a Winograd kernel"), NULL);
    }
    transform_kernel(k->tf, w, C, F, false, 0, 36, k->U);
    if (!pack_kernel(k->U, C, F, false, true, k->pk)) {
        tc_conv_winograd_kernel_free(k);
        return NULL;
    }
    return k;
}

void tc_conv_winograd_kernel_free(tc_wino_kernel *k)
{
    if (!k) return;
    for (int e = 0; e < 36; e++) tc_gemm_b_panel_release(&k->pk[e]);
    free(k->U);
    free(k);
}

/* ---- the tiles ------------------------------------------------------------- */
typedef struct {
    const wino_geom *g;
    const wino_transforms *tf;
    const tc_gemm_b_panel *U;
    int64_t tiles, tb;        /* all tiles; tiles per block (the last block: the rest, up to tb + 1) */
    int64_t nblocks, mrow;    /* blocks; the most tiles of one block (V and M are sized for it) */
    tc_scalar *scratch;       /* per thread (blocks path) or one block's (phased path): V then M */
    int64_t scratch_len;
    int64_t t0, nt;           /* phased path: the block in hand */
} wino_job;

/* the 36 products of one block: M[e] = V[e] @ U[e] */
static void block_gemm(const wino_job *j, int64_t nt, const tc_scalar *V, tc_scalar *M, int e)
{
    const int64_t Ci = j->g->Cin, Co = j->g->Cout;
    tc_gemm_serial_b(false, nt, 1, V + e * Ci, 36 * Ci, &j->U[e], NULL, 0, M + e * Co, 36 * Co);
}

static void block_units(void *ctx, int64_t lo, int64_t hi)
{
    const wino_job *j = ctx;
    tc_scalar *V = j->scratch + tc_thread_id() * j->scratch_len, *M = V + 36 * j->mrow * j->g->Cin;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t t0 = b * j->tb, nt = b == j->nblocks - 1 ? j->tiles - t0 : j->tb;
        j->tf->in_tf(j->g, t0, nt, V);
        for (int e = 0; e < 36; e++) block_gemm(j, nt, V, M, e);
        j->tf->out_tf(j->g, t0, nt, M);
    }
}

/* phased path (few blocks: small images, batch 1): one block at a time,
 * its transforms split over tiles and its 36 products over the pool; each
 * value is computed by the same operations as on the blocks path */
#define PHASE_TILES 4
static void phase_in(void *ctx, int64_t lo, int64_t hi)
{
    const wino_job *j = ctx;
    const int64_t a = lo * PHASE_TILES, b = hi * PHASE_TILES < j->nt ? hi * PHASE_TILES : j->nt;
    j->tf->in_tf(j->g, j->t0 + a, b - a, j->scratch + a * 36 * j->g->Cin);
}

static void phase_gemm(void *ctx, int64_t lo, int64_t hi)
{
    const wino_job *j = ctx;
    for (int64_t e = lo; e < hi; e++)
        block_gemm(j, j->nt, j->scratch, j->scratch + 36 * j->mrow * j->g->Cin, (int)e);
}

static void phase_out(void *ctx, int64_t lo, int64_t hi)
{
    const wino_job *j = ctx;
    const int64_t a = lo * PHASE_TILES, b = hi * PHASE_TILES < j->nt ? hi * PHASE_TILES : j->nt;
    j->tf->out_tf(j->g, j->t0 + a, b - a, j->scratch + 36 * j->mrow * j->g->Cin + a * 36 * j->g->Cout);
}

/* below this many blocks the phased path keeps both threads busy */
#define FEW_BLOCKS 4

static bool run(wino_geom *g, const wino_transforms *tf, const tc_gemm_b_panel *U)
{
    g->th = (g->Hout + 3) / 4, g->tw = (g->Wout + 3) / 4;
    wino_job j = {.g = g, .tf = tf, .U = U, .tiles = g->N * g->th * g->tw};
    /* tiles per block from the shape only: V and M of a block (36 planes of
     * Cin + Cout values a tile) within 2M values, 12..240 tiles, a multiple
     * of the AVX-512 kernel's 6 rows */
    int64_t tb = (int64_t)2 * 1024 * 1024 / (36 * (g->Cin + g->Cout));
    tb = tb > 240 ? 240 : tb < 12 ? 12 : tb;
    tb -= tb % 6;
    j.tb = j.tiles < tb ? j.tiles : tb;
    /* the last block takes the rest; a rest of one tile joins the block
     * before it (a one-row product would read the kept kernel unpacked) */
    int64_t nblocks = (j.tiles + j.tb - 1) / j.tb;
    if (nblocks > 1 && j.tiles - (nblocks - 1) * j.tb == 1) nblocks--;
    j.nblocks = nblocks;
    const int64_t last = j.tiles - (nblocks - 1) * j.tb; /* the last block's tiles */
    j.mrow = last > j.tb ? last : j.tb;
    j.scratch_len = 36 * j.mrow * (g->Cin + g->Cout);
    const bool phased = nblocks < FEW_BLOCKS;
    j.scratch = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(j.scratch_len * (phased ? 1 : tc_num_threads())));
    if (!j.scratch) return false;
    if (!phased) {
        tc_parallel_for(nblocks, 1, block_units, &j);
        return true;
    }
    for (int64_t b = 0; b < nblocks; b++) {
        j.t0 = b * j.tb, j.nt = b == nblocks - 1 ? j.tiles - j.t0 : j.tb;
        const int64_t units = (j.nt + PHASE_TILES - 1) / PHASE_TILES;
        tc_parallel_for(units, 1, phase_in, &j);
        tc_parallel_for(36, 1, phase_gemm, &j);
        tc_parallel_for(units, 1, phase_out, &j);
    }
    return true;
}

bool tc_conv_winograd_forward(const conv_plan *p, const tc_scalar *bias, tc_scalar *y)
{
    const wino_transforms *tf = pick();
    /* the kernel kept with the model's weights, when it was made for this
     * ISA's transforms (else transformed here, as it would have been) */
    const tc_gemm_b_panel *kept = kept_panels(p), *U = kept ? kept : prepare_kernel(tf, p->w, p->C, p->F, false);
    if (!U) return false;
    wino_geom g = {.N = p->N, .Hin = p->H, .Win = p->W, .Cin = p->C, .Hout = p->OH, .Wout = p->OW, .Cout = p->F,
                   .off_h = -p->pb[1], .off_w = -p->pb[2], .in = p->x, .out = y, .bias = bias};
    if (!run(&g, tf, U)) return false;
    tc_conv_epilogue_all(p, y); /* after the whole output: tiles are not runs of rows */
    __atomic_add_fetch(&winograd_runs, 1, __ATOMIC_RELAXED);
    return true;
}

bool tc_conv_winograd_backward_dx(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx)
{
    const wino_transforms *tf = pick();
    const tc_gemm_b_panel *U = prepare_kernel(tf, p->w, p->C, p->F, true);
    if (!U) return false;
    wino_geom g = {.N = p->N, .Hin = p->OH, .Win = p->OW, .Cin = p->F, .Hout = p->H, .Wout = p->W, .Cout = p->C,
                   .off_h = p->pb[1] - 2, .off_w = p->pb[2] - 2, .in = dy, .out = dx, .accumulate = true};
    return run(&g, tf, U);
}
